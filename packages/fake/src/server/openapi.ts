// kubectl decides how to validate a manifest from the OpenAPI v3 document of its group-version: when
// the PATCH operation of the object's kind lists the `fieldValidation` query parameter, kubectl leaves
// validation to the server (`?fieldValidation=Strict`) instead of downloading full schemas. This is the
// smallest document that tells it so, for the kinds this server keeps.

const PATH_PREFIX = '/openapi/v3/api/v1';
// Changes whenever the document does, so clients that cache it by URL never see a stale one.
const DOCUMENT_HASH = 'podstorage-fake-1';

/** `GET /openapi/v3`: where the document of each group-version lives. */
export function openApiV3Root(): object {
  return { paths: { 'api/v1': { serverRelativeURL: `${PATH_PREFIX}?hash=${DOCUMENT_HASH}` } } };
}

function objectPath(kind: string): object {
  const gvk = { 'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind } };
  const parameters = [
    { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
    { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
  ];
  const response = { responses: { '200': { description: 'OK' } } };
  return {
    get: { operationId: `read${kind}`, ...gvk, 'x-kubernetes-action': 'get', ...response },
    put: { operationId: `replace${kind}`, ...gvk, 'x-kubernetes-action': 'put', parameters, ...response },
    patch: { operationId: `patch${kind}`, ...gvk, 'x-kubernetes-action': 'patch', parameters, ...response },
  };
}

/** `GET /openapi/v3/api/v1`: the operations of pods, events and namespaces, without schemas. */
export function openApiV3CoreV1(): object {
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (podstorage fake cluster)', version: 'v1.32.0' },
    paths: {
      '/api/v1/namespaces/{namespace}/pods/{name}': objectPath('Pod'),
      '/api/v1/namespaces/{namespace}/events/{name}': objectPath('Event'),
      '/api/v1/namespaces/{name}': objectPath('Namespace'),
    },
    components: { schemas: {} },
  };
}

/** The body for an OpenAPI path, or `undefined` if the path is not one. */
export function openApiDocument(path: string): object | undefined {
  if (path === '/openapi/v3') return openApiV3Root();
  if (path === PATH_PREFIX) return openApiV3CoreV1();
  return undefined;
}
