import { PodStorageError } from '@podstorage/core';

const KUBECONFIG_ERROR = Symbol.for('podstorage.KubeconfigError');
const CREDENTIAL_ERROR = Symbol.for('podstorage.CredentialError');

function hasMarker(value: unknown, marker: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/** Where in the configuration a {@link KubeconfigError} was found. */
export interface KubeconfigLocation {
  /** The kubeconfig file (or a description such as `the kubeconfig given as an object`). */
  readonly file?: string;
  /** The context being resolved, when there was one. */
  readonly context?: string;
  /** The field at fault, such as `clusters[name=prod].cluster.server`. */
  readonly field?: string;
}

/**
 * A kubeconfig (or in-cluster configuration) that cannot be used: a missing or unreadable file, YAML
 * that does not parse, an unknown context, cluster or user, a missing field. The message names the file,
 * the context and the field; it never contains a token, a key or any other secret.
 */
export class KubeconfigError extends PodStorageError {
  /** The kubeconfig file (or a description of where the configuration came from). */
  readonly file: string | undefined;
  /** The context being resolved. */
  readonly context: string | undefined;
  /** The field at fault. */
  readonly field: string | undefined;

  constructor(problem: string, location: KubeconfigLocation = {}, options: { cause?: unknown } = {}) {
    const where = [
      location.file === undefined ? undefined : `kubeconfig ${location.file}`,
      location.context === undefined ? undefined : `context "${location.context}"`,
      location.field === undefined ? undefined : `field ${location.field}`,
    ].filter((part) => part !== undefined);
    super(where.length > 0 ? `${where.join(', ')}: ${problem}` : problem, {
      cause: options.cause,
      retryable: false,
    });
    this.name = 'KubeconfigError';
    this.file = location.file;
    this.context = location.context;
    this.field = location.field;
    Object.defineProperty(this, KUBECONFIG_ERROR, { value: true });
  }

  /** True for any kubeconfig error, from this or another copy of the package. */
  static override isInstance(value: unknown): value is KubeconfigError {
    return hasMarker(value, KUBECONFIG_ERROR);
  }
}

/**
 * Credentials could not be obtained when a request needed them: an exec plugin failed, timed out,
 * printed something that is not an ExecCredential, or returned expired credentials; a token file
 * became unreadable or empty. Never carries the plugin's output or the token.
 */
export class CredentialError extends PodStorageError {
  /** The user entry of the kubeconfig whose credentials failed, when known. */
  readonly user: string | undefined;

  constructor(message: string, options: { user?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: options.cause, retryable: options.retryable ?? false });
    this.name = 'CredentialError';
    this.user = options.user;
    Object.defineProperty(this, CREDENTIAL_ERROR, { value: true });
  }

  /** True for any credential error, from this or another copy of the package. */
  static override isInstance(value: unknown): value is CredentialError {
    return hasMarker(value, CREDENTIAL_ERROR);
  }
}
