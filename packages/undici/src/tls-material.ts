import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { PodStorageError } from '@podstorage/core';

// What is wrong with TLS material or a server certificate, told apart from what may pass: a
// certificate authority that holds no certificate (Node would skip it silently and every handshake
// would fail verification), a client certificate and key that cannot be used, a server certificate
// that is not trusted or not valid for the name checked. None of it is fixed by retrying.

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Whether a PEM bundle holds at least one certificate that parses (Node, as Go, skips the others). */
export function holdsCertificate(pem: string): boolean {
  return (pem.match(PEM_CERTIFICATE) ?? []).some((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Why a client certificate and key cannot be used for TLS (OpenSSL's reason: one does not parse, or
 * the key does not belong to the certificate), or `undefined` when they can. Never quotes the key.
 */
export function keyPairProblem(cert: string, key: string): string | undefined {
  try {
    createSecureContext({ cert, key });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// Node's codes for a server certificate that the client does not trust or that is not valid for the
// name it checked: the wrong certificate authority or tls-server-name. Expiry and not-yet-valid are left
// out: a renewal on the server or a corrected clock fixes them.
const UNTRUSTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);
const WRONG_NAME = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * A non-retryable error naming the server and what to check when `error` (or one of its causes) says
 * the server's certificate is not trusted or not valid for the name checked; `undefined` for any other
 * failure (connection refused, DNS, a reset handshake), which may pass.
 */
export function untrustedServerError(
  error: unknown,
  context: { readonly operation: string; readonly server: string },
): PodStorageError | undefined {
  let current = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === WRONG_NAME || (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code))) {
      const problem =
        code === WRONG_NAME
          ? `presented a certificate that is not valid for the name checked (${current.message}); check the cluster's tls-server-name and server`
          : `presented a certificate the kubeconfig does not trust (${code}: ${current.message}); check the cluster's certificate-authority or certificate-authority-data`;
      return new PodStorageError(`${context.operation}: the API server ${context.server} ${problem}`, {
        cause: error,
        retryable: false,
      });
    }
    current = current.cause;
  }
  return undefined;
}
