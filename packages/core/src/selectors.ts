/**
 * A field selector as data: every field must equal its value. Built from structured values so user
 * input is never concatenated into a selector string.
 */
export type FieldSelector = Readonly<Record<string, string>>;

// Kubernetes field selector values escape '\', ',' and '=' with a backslash (fields.EscapeValue).
function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (character) => `\\${character}`);
}

/**
 * The wire form of a field selector (`a=b,c=d`), with values escaped and fields sorted so equal
 * selectors always produce the same string.
 */
export function formatFieldSelector(selector: FieldSelector | undefined): string {
  if (selector === undefined) return '';
  return Object.keys(selector)
    .sort()
    .map((field) => `${field}=${escapeFieldValue(selector[field] ?? '')}`)
    .join(',');
}
