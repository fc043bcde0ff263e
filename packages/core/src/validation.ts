import { InvalidInputError } from './errors.js';

// RFC 1123 label: what Kubernetes requires of namespace names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// RFC 1123 subdomain: what Kubernetes requires of pod names.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a namespace name (an RFC 1123 label) and throws an {@link InvalidInputError} naming it. */
export function validateNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || namespace === '') {
    throw new InvalidInputError('namespace', namespace, 'must be a non-empty string');
  }
  if (namespace.length > 63) {
    throw new InvalidInputError('namespace', namespace, 'must be at most 63 characters (RFC 1123 label)');
  }
  if (!DNS_LABEL.test(namespace)) {
    throw new InvalidInputError(
      'namespace',
      namespace,
      "must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
  }
}

/** Checks a pod name (an RFC 1123 subdomain) and throws an {@link InvalidInputError} naming it. */
export function validatePodName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidInputError('pod name', name, 'must be a non-empty string');
  }
  if (name.length > 253) {
    throw new InvalidInputError('pod name', name, 'must be at most 253 characters (RFC 1123 subdomain)');
  }
  if (!DNS_SUBDOMAIN.test(name)) {
    throw new InvalidInputError(
      'pod name',
      name,
      "must be an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit",
    );
  }
}
