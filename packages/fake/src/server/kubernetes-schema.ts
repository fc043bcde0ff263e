import swagger from './schemas/openapi-v2.json' with { type: 'json' };

// The one place the server learns the shape of the Kubernetes types: the OpenAPI v2 document of a
// Kubernetes release, trimmed to the served kinds (schemas/README.md). The OpenAPI endpoints serve it,
// fieldValidation finds unknown fields with it, server-side apply reads its list types and map keys,
// and the protobuf codec its required fields.

/** One schema of the OpenAPI v2 document, as far as this server reads it. */
export interface Schema {
  readonly $ref?: string;
  readonly type?: string;
  readonly format?: string;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: Schema | boolean;
  readonly items?: Schema;
  readonly required?: readonly string[];
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
  readonly 'x-kubernetes-patch-merge-key'?: string;
  readonly 'x-kubernetes-group-version-kind'?: readonly { group: string; version: string; kind: string }[];
}

/** The trimmed OpenAPI v2 document. */
export interface SwaggerDocument {
  readonly swagger: string;
  readonly info: Record<string, unknown>;
  readonly paths: Record<string, unknown>;
  readonly parameters: Record<string, unknown>;
  readonly definitions: Readonly<Record<string, Schema>>;
}

/** The OpenAPI v2 document the server serves (read-only: never modify it). */
export const SWAGGER = swagger as unknown as SwaggerDocument;

/** A definition by name (`io.k8s.api.core.v1.Pod`). */
export function definitionOf(name: string): Schema | undefined {
  return SWAGGER.definitions[name];
}

const byKind = new Map<string, string>();
for (const [name, definition] of Object.entries(SWAGGER.definitions)) {
  for (const gvk of definition['x-kubernetes-group-version-kind'] ?? []) {
    const apiVersion = gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
    // meta/v1 kinds (Status, DeleteOptions, WatchEvent) are listed under every group: the first wins.
    if (!byKind.has(`${apiVersion}/${gvk.kind}`)) byKind.set(`${apiVersion}/${gvk.kind}`, name);
  }
}

/** The definition of a kind in an API version (`v1` + `Pod`), or `undefined`. */
export function definitionOfKind(apiVersion: string, kind: string): Schema | undefined {
  const name = byKind.get(`${apiVersion}/${kind}`);
  return name === undefined ? undefined : SWAGGER.definitions[name];
}

/** Follows a `$ref` (once; definitions do not point at refs). */
export function resolve(schema: Schema | undefined): Schema | undefined {
  if (schema?.$ref === undefined) return schema;
  return SWAGGER.definitions[schema.$ref.replace('#/definitions/', '')];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The fields of an object its schema does not declare, as the apiserver's strict decoder names them
 * (`spec.containers[0].imagePullPolicey`). Maps (`additionalProperties`) and untyped fields (RawExtension,
 * FieldsV1) accept anything.
 */
export function unknownFields(object: unknown, schema: Schema | undefined, path = ''): string[] {
  const resolved = resolve(schema);
  if (resolved === undefined) return [];
  if (Array.isArray(object)) {
    if (resolved.items === undefined) return [];
    return object.flatMap((item, index) => unknownFields(item, resolved.items, `${path}[${index}]`));
  }
  if (!isRecord(object)) return [];
  if (resolved.properties === undefined) {
    if (isRecord(resolved.additionalProperties)) {
      return Object.entries(object).flatMap(([key, value]) =>
        unknownFields(value, resolved.additionalProperties as Schema, `${path}[${key}]`),
      );
    }
    return [];
  }
  const found: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    const where = path === '' ? key : `${path}.${key}`;
    const property = resolved.properties[key];
    if (property === undefined) found.push(where);
    else found.push(...unknownFields(value, property, where));
  }
  return found;
}
