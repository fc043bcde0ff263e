import { isIP } from 'node:net';
import { generate } from 'selfsigned';

/** A server key and certificate, and the CA that signed it (all PEM). */
export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** The CA certificate clients should trust; it goes into the kubeconfig as `certificate-authority-data`. */
  readonly ca: string;
}

/**
 * Makes a fresh CA and a server certificate signed by it, valid for `localhost`, the loopback addresses
 * and `host`. ECDSA P-256 keys: quick to make, and accepted by Go (kubectl) and Node clients alike.
 */
export async function generateTlsMaterial(host: string): Promise<TlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 365 * 24 * 3_600_000);
  const authority = await generate([{ name: 'commonName', value: 'podstorage-fake-cluster-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  const altNames = [...names].map((name) =>
    isIP(name) === 0 ? { type: 2 as const, value: name } : { type: 7 as const, ip: name },
  );
  const server = await generate([{ name: 'commonName', value: 'podstorage-fake-cluster' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: server.private, cert: server.cert, ca: authority.cert };
}
