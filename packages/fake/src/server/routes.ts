import type { DeleteQuery, ListQuery, WatchQuery } from '../fake-cluster.js';
import type { PodLogQuery } from '../pod-logs.js';
import { failureStatus } from '../status.js';
import { StatusFailure } from './status-failure.js';

/** A resource the server serves under `/api/v1`. */
export type ServedResource = 'pods' | 'events' | 'namespaces' | 'nodes' | 'leases';

/** A request path under `/api/v1`, taken apart. */
export interface ResourcePath {
  readonly resource: ServedResource;
  /** The namespace in the path; `undefined` for all namespaces and for namespaces themselves. */
  readonly namespace: string | undefined;
  /** The object name; `undefined` for a collection. */
  readonly name: string | undefined;
  /** `status`, `binding` and `eviction` are served; the others answer a Status saying so (405). */
  readonly subresource: PodSubresource | undefined;
  /** The legacy `/api/v1/watch/...` form, which always watches. */
  readonly watchPrefix: boolean;
}

const NAMESPACED = new Set<string>(['pods', 'events']);

/** The pod subresources the apiserver registers (pkg/registry/core/pod/storage/storage.go). */
export type PodSubresource =
  | 'status'
  | 'log'
  | 'binding'
  | 'eviction'
  | 'exec'
  | 'attach'
  | 'portforward'
  | 'proxy'
  | 'ephemeralcontainers'
  | 'resize';

const POD_SUBRESOURCES = new Set<string>([
  'status',
  'log',
  'binding',
  'eviction',
  'exec',
  'attach',
  'portforward',
  'proxy',
  'ephemeralcontainers',
  'resize',
]);

/** What the fake cannot do for each unsupported subresource, for the Status that says so. */
export const UNSUPPORTED_SUBRESOURCES: Partial<Record<PodSubresource, string>> = {
  exec: 'it runs no containers to execute commands in',
  attach: 'it runs no containers to attach to',
  portforward: 'it runs no containers to forward ports to',
  proxy: 'it runs no containers to proxy to',
  ephemeralcontainers: 'it runs no containers, so none can be added',
  resize: 'it runs no containers to resize',
};

function badPath(): StatusFailure {
  return new StatusFailure(
    failureStatus(404, 'the server could not find the requested resource', {}, 'NotFound'),
    'unknown path',
  );
}

/**
 * Splits a path into decoded segments. A segment that does not decode (a stray `%`) or that decodes to
 * something containing `/` cannot name anything, so the path is unknown (404).
 */
export function pathSegments(pathname: string): string[] {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  return segments.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw badPath();
    }
    if (decoded.includes('/') || decoded === '' || decoded === '.' || decoded === '..') throw badPath();
    return decoded;
  });
}

/** Takes apart a path under `/api/v1`; `undefined` for anything this server does not serve. */
export function parseResourcePath(segments: readonly string[]): ResourcePath | undefined {
  if (segments[0] !== 'api' || segments[1] !== 'v1') return undefined;
  let rest = segments.slice(2);
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest = rest.slice(1);
  const [first, second, third, fourth, fifth, ...extra] = rest;
  if (first === undefined) return undefined;
  if (NAMESPACED.has(first)) {
    return second === undefined
      ? {
          resource: first as ServedResource,
          namespace: undefined,
          name: undefined,
          subresource: undefined,
          watchPrefix,
        }
      : undefined;
  }
  if (first === 'nodes') {
    // Cluster-scoped, read here (and cordoned by a patch): the simulated nodes.
    if (third !== undefined) return undefined;
    return { resource: 'nodes', namespace: undefined, name: second, subresource: undefined, watchPrefix };
  }
  if (first !== 'namespaces') return undefined;
  if (second === undefined) {
    return {
      resource: 'namespaces',
      namespace: undefined,
      name: undefined,
      subresource: undefined,
      watchPrefix,
    };
  }
  if (third === undefined) {
    return {
      resource: 'namespaces',
      namespace: undefined,
      name: second,
      subresource: undefined,
      watchPrefix,
    };
  }
  if (!NAMESPACED.has(third)) return undefined;
  const resource = third as ServedResource;
  // `pods/{name}/proxy/{path...}` carries a path after the subresource; nothing else does.
  if (extra.length > 0 && !(resource === 'pods' && fifth === 'proxy')) return undefined;
  if (fifth !== undefined && (resource !== 'pods' || watchPrefix || !POD_SUBRESOURCES.has(fifth)))
    return undefined;
  return {
    resource,
    namespace: second,
    name: fourth,
    subresource: fifth as PodSubresource | undefined,
    watchPrefix,
  };
}

/**
 * Takes apart a path under `/apis/coordination.k8s.io/v1` (leases, in a namespace or across all, and the
 * legacy `watch/` form); `undefined` for anything else.
 */
export function parseLeasePath(segments: readonly string[]): ResourcePath | undefined {
  if (segments[0] !== 'apis' || segments[1] !== 'coordination.k8s.io' || segments[2] !== 'v1')
    return undefined;
  let rest = segments.slice(3);
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest = rest.slice(1);
  const path = (namespace: string | undefined, name: string | undefined): ResourcePath => ({
    resource: 'leases',
    namespace,
    name,
    subresource: undefined,
    watchPrefix,
  });
  if (rest.length === 1 && rest[0] === 'leases') return path(undefined, undefined);
  if (rest[0] === 'namespaces' && rest[2] === 'leases' && rest.length <= 4 && rest[1] !== undefined)
    return path(rest[1], rest[3]);
  return undefined;
}

function badQuery(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

/**
 * A boolean query parameter as the apiserver converts it (`Convert_Slice_string_To_bool` in
 * staging/src/k8s.io/apimachinery/pkg/runtime/conversion.go): absent is unset; `0` and `false` in any
 * case are false; anything else, the empty string and Python's `True` included, is true.
 */
function booleanParameter(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

function integerParameter(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badQuery(`${name}: Invalid value: "${value}": must be an integer`);
  return Number(value);
}

function stringParameter(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null ? undefined : value;
}

function resourceVersionMatch(query: URLSearchParams): 'NotOlderThan' | 'Exact' | undefined {
  const value = query.get('resourceVersionMatch');
  if (value === null || value === '') return undefined;
  // Passed through as given: the cluster answers an unsupported value with the apiserver's 422.
  return value as 'NotOlderThan' | 'Exact';
}

/** Whether the request asks for a watch (`?watch=true`, or the legacy `/watch/` path). */
export function isWatch(query: URLSearchParams, path: ResourcePath): boolean {
  return path.watchPrefix || booleanParameter(query, 'watch') === true;
}

/** The list options in a query string. */
export function listQueryOf(query: URLSearchParams): ListQuery {
  const limit = integerParameter(query, 'limit');
  if (limit !== undefined && limit < 0) throw badQuery(`limit: Invalid value: ${limit}: must be >= 0`);
  return {
    fieldSelector: stringParameter(query, 'fieldSelector'),
    labelSelector: stringParameter(query, 'labelSelector'),
    limit,
    continue: stringParameter(query, 'continue') || undefined,
    resourceVersion: stringParameter(query, 'resourceVersion'),
    resourceVersionMatch: resourceVersionMatch(query),
  };
}

/** The watch options in a query string. */
export function watchQueryOf(query: URLSearchParams): WatchQuery {
  const timeoutSeconds = integerParameter(query, 'timeoutSeconds');
  if (timeoutSeconds !== undefined && timeoutSeconds < 0)
    throw badQuery(`timeoutSeconds: Invalid value: ${timeoutSeconds}: must be >= 0`);
  return {
    fieldSelector: stringParameter(query, 'fieldSelector'),
    labelSelector: stringParameter(query, 'labelSelector'),
    resourceVersion: stringParameter(query, 'resourceVersion'),
    resourceVersionMatch: resourceVersionMatch(query),
    allowWatchBookmarks: booleanParameter(query, 'allowWatchBookmarks'),
    // The apiserver treats 0 as "no timeout asked": its own default applies.
    timeoutSeconds: timeoutSeconds === 0 ? undefined : timeoutSeconds,
    sendInitialEvents: booleanParameter(query, 'sendInitialEvents'),
  };
}

/**
 * Delete options from the query string and the optional DeleteOptions body; the body wins where both
 * set a field, as in the apiserver.
 */
export function deleteQueryOf(
  query: URLSearchParams,
  body: Record<string, unknown> | undefined,
): DeleteQuery {
  let gracePeriodSeconds = integerParameter(query, 'gracePeriodSeconds');
  let propagationPolicy = stringParameter(query, 'propagationPolicy');
  let preconditions: DeleteQuery['preconditions'];
  if (body !== undefined) {
    if (body.kind !== undefined && body.kind !== 'DeleteOptions')
      throw badQuery(`the body of a delete must be DeleteOptions, not ${String(body.kind)}`);
    if (typeof body.gracePeriodSeconds === 'number') gracePeriodSeconds = body.gracePeriodSeconds;
    else if (body.gracePeriodSeconds !== undefined && body.gracePeriodSeconds !== null)
      throw badQuery('gracePeriodSeconds must be an integer');
    if (typeof body.propagationPolicy === 'string') propagationPolicy = body.propagationPolicy;
    const given = body.preconditions;
    if (typeof given === 'object' && given !== null) {
      const { uid, resourceVersion } = given as { uid?: unknown; resourceVersion?: unknown };
      preconditions = {
        ...(typeof uid === 'string' ? { uid } : {}),
        ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
      };
    }
  }
  if (gracePeriodSeconds !== undefined && !Number.isInteger(gracePeriodSeconds))
    throw badQuery('gracePeriodSeconds must be an integer');
  return { gracePeriodSeconds, propagationPolicy, preconditions };
}

/** The `PodLogOptions` of a `pods/{name}/log` query string (the cluster checks their values). */
export function podLogQueryOf(query: URLSearchParams): PodLogQuery {
  const values: Record<string, unknown> = {
    container: stringParameter(query, 'container'),
    follow: booleanParameter(query, 'follow'),
    previous: booleanParameter(query, 'previous'),
    timestamps: booleanParameter(query, 'timestamps'),
    tailLines: integerParameter(query, 'tailLines'),
    sinceSeconds: integerParameter(query, 'sinceSeconds'),
    sinceTime: stringParameter(query, 'sinceTime'),
    limitBytes: integerParameter(query, 'limitBytes'),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as PodLogQuery;
}
