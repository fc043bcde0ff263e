import { failureStatus } from '../status.js';
import { definitionOfKind, unknownFields } from './kubernetes-schema.js';
import { StatusFailure } from './status-failure.js';

// `fieldValidation` as the apiserver's (KEP-2885): an unknown field is an error with Strict (what kubectl
// sends by default), a `Warning` header with Warn (the server's default), and dropped either way unless
// Strict. Unknown means not declared in the OpenAPI schema of the kind, the same schema the server serves.

/** The `fieldValidation` directive of a write. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Reads `fieldValidation` (default Warn); another value is the apiserver's 400. */
export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  const message = `fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`;
  throw new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

function removeAt(object: Record<string, unknown>, path: string): void {
  // Paths are `a.b[0].c` or `a.b[key].c`: walk to the parent, delete the last property.
  const parts = path.match(/[^.[\]]+/g) ?? [];
  let node: unknown = object;
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string, unknown>)[part];
  }
  const last = parts.at(-1);
  if (last !== undefined && node !== null && typeof node === 'object')
    delete (node as Record<string, unknown>)[last];
}

/**
 * Applies a `fieldValidation` directive to an object about to be written: returns the warnings to send,
 * removes unknown fields (Warn, Ignore), or throws the apiserver's 400 BadRequest (Strict). `handledAs`
 * prefixes the message, as a create's or update's decoding error does (`Pod in version "v1" cannot be
 * handled as a Pod: `).
 */
export function checkFields(
  object: Record<string, unknown>,
  apiVersion: string,
  kind: string,
  directive: FieldValidation,
  options: { readonly handledAs?: boolean } = {},
): string[] {
  const schema = definitionOfKind(apiVersion, kind);
  if (schema === undefined) return [];
  const unknown = unknownFields(object, schema).filter((path) => path !== 'apiVersion' && path !== 'kind');
  if (unknown.length === 0) return [];
  if (directive === 'Strict') {
    const prefix = options.handledAs
      ? `${kind} in version "${apiVersion}" cannot be handled as a ${kind}: `
      : '';
    const message = `${prefix}strict decoding error: ${unknown.map((path) => `unknown field "${path}"`).join(', ')}`;
    throw new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
  }
  for (const path of unknown) removeAt(object, path);
  return directive === 'Warn' ? unknown.map((path) => `unknown field "${path}"`) : [];
}

/** The `Warning` header values for warnings (RFC 7234 code 299, as the apiserver's warning recorder). */
export function warningHeaders(warnings: readonly string[]): string[] {
  return warnings.map((warning) => `299 - ${JSON.stringify(warning)}`);
}
