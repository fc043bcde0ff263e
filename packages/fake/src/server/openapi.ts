import { type Schema, SWAGGER } from './kubernetes-schema.js';

// The OpenAPI documents of the served types, from the vendored swagger of a Kubernetes release (see
// schemas/README.md): `/openapi/v2` is that document; `/openapi/v3` lists one document per group-version,
// each converted from it as kube-openapi's v3 builder shapes them (components.schemas, a `$ref` with
// siblings wrapped in `allOf`, request bodies and responses under `content`). kubectl explain reads the
// schemas; kubectl apply and create read whether PATCH lists `fieldValidation`, and then leave validation
// to the server.

// Changes whenever the documents do, so clients that cache them by URL never see a stale one.
const DOCUMENT_HASH = `podstorage-fake-${String(SWAGGER.info.version ?? 'v1')}-2`;

/** The group-versions with a v3 document, by the path segment kubectl asks for. */
const GROUP_VERSIONS: Record<string, { readonly prefix: string; readonly definitions: RegExp }> = {
  'api/v1': { prefix: '/api/v1/', definitions: /^io\.k8s\.(api\.core\.v1|apimachinery)\./ },
  'apis/events.k8s.io/v1': {
    prefix: '/apis/events.k8s.io/v1/',
    definitions: /^io\.k8s\.(api\.events\.v1|api\.core\.v1\.ObjectReference|apimachinery)/,
  },
  'apis/authorization.k8s.io/v1': {
    prefix: '/apis/authorization.k8s.io/v1/',
    definitions: /^io\.k8s\.(api\.authorization\.v1|apimachinery)\./,
  },
};

/** `GET /openapi/v2`: the swagger document (JSON). */
export function openApiV2(): object {
  return SWAGGER;
}

/** `GET /openapi/v3`: where the document of each group-version lives. */
export function openApiV3Root(): object {
  return {
    paths: Object.fromEntries(
      Object.keys(GROUP_VERSIONS).map((name) => [
        name,
        { serverRelativeURL: `/openapi/v3/${name}?hash=${DOCUMENT_HASH}` },
      ]),
    ),
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function convertRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(convertRefs);
  if (typeof value !== 'object' || value === null) return value;
  const result: { [key: string]: Json } = {};
  for (const [key, entry] of Object.entries(value)) {
    result[key] =
      key === '$ref' && typeof entry === 'string'
        ? entry.replace('#/definitions/', '#/components/schemas/')
        : convertRefs(entry);
  }
  // A v3 `$ref` replaces its siblings, so kube-openapi wraps it: `allOf: [{$ref}]` beside them.
  if (typeof result.$ref === 'string' && Object.keys(result).length > 1) {
    const { $ref, ...rest } = result;
    return { ...rest, allOf: [{ $ref }] };
  }
  return result;
}

const SCHEMA_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

function convertOperation(operation: Record<string, Json>): Json {
  const { parameters, responses, consumes, produces: _produces, schemes: _schemes, ...rest } = operation;
  const result: { [key: string]: Json } = { ...(convertRefs(rest) as { [key: string]: Json }) };
  const kept: Json[] = [];
  for (const parameter of (parameters as Json[] | undefined) ?? []) {
    const resolved = resolveParameter(parameter);
    if (resolved.in === 'body') {
      const types = (consumes as string[] | undefined) ?? ['application/json'];
      result.requestBody = {
        content: Object.fromEntries(
          types.map((type) => [type, { schema: convertRefs(resolved.schema ?? {}) }]),
        ),
        required: true,
      };
    } else kept.push(v3Parameter(resolved));
  }
  if (kept.length > 0) result.parameters = kept;
  if (responses !== undefined && typeof responses === 'object' && responses !== null) {
    result.responses = Object.fromEntries(
      Object.entries(responses).map(([code, response]) => {
        const { schema, ...restOfResponse } = response as { [key: string]: Json };
        return [
          code,
          schema === undefined
            ? restOfResponse
            : {
                ...restOfResponse,
                content: Object.fromEntries(
                  SCHEMA_MEDIA_TYPES.map((type) => [type, { schema: convertRefs(schema) }]),
                ),
              },
        ];
      }),
    );
  }
  return result;
}

function resolveParameter(parameter: Json): { [key: string]: Json } {
  const given = parameter as { [key: string]: Json };
  if (typeof given.$ref === 'string') {
    const name = given.$ref.replace('#/parameters/', '');
    return (SWAGGER.parameters[name] ?? {}) as { [key: string]: Json };
  }
  return given;
}

function v3Parameter(parameter: { [key: string]: Json }): Json {
  const { type, uniqueItems, format, ...rest } = parameter;
  return {
    ...rest,
    schema: {
      ...(type === undefined ? {} : { type }),
      ...(format === undefined ? {} : { format }),
      ...(uniqueItems === undefined ? {} : { uniqueItems }),
    },
  };
}

function convertPath(item: Record<string, Json>): Json {
  const result: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === 'parameters') {
      result.parameters = (value as Json[]).map((parameter) => v3Parameter(resolveParameter(parameter)));
    } else result[key] = convertOperation(value as Record<string, Json>);
  }
  return result;
}

const v3Documents = new Map<string, object>();

/** `GET /openapi/v3/<group-version>`: the paths and schemas of one group-version, or `undefined`. */
export function openApiV3(groupVersion: string): object | undefined {
  const spec = GROUP_VERSIONS[groupVersion];
  if (spec === undefined) return undefined;
  const cached = v3Documents.get(groupVersion);
  if (cached !== undefined) return cached;
  const paths = Object.fromEntries(
    Object.entries(SWAGGER.paths)
      .filter(([path]) => path.startsWith(spec.prefix))
      .map(([path, item]) => [path, convertPath(item as Record<string, Json>)]),
  );
  const schemas = Object.fromEntries(
    Object.entries(SWAGGER.definitions)
      .filter(([name]) => spec.definitions.test(name) || /^io\.k8s\.api\.core\.v1\./.test(name))
      .map(([name, schema]: [string, Schema]) => [name, convertRefs(schema as Json)]),
  );
  const document = {
    openapi: '3.0.0',
    info: { ...SWAGGER.info, title: 'Kubernetes (podstorage fake cluster)' },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: 'apiKey',
          description: 'Bearer Token authentication',
          name: 'authorization',
          in: 'header',
        },
      },
    },
  };
  v3Documents.set(groupVersion, document);
  return document;
}

/** The body for an OpenAPI path, or `undefined` if the path is not one. */
export function openApiDocument(path: string): object | undefined {
  if (path === '/openapi/v2') return openApiV2();
  if (path === '/openapi/v3') return openApiV3Root();
  if (path.startsWith('/openapi/v3/')) return openApiV3(path.slice('/openapi/v3/'.length));
  return undefined;
}
