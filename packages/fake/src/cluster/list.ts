import { KubernetesError } from '@podstorage/core';
import { type ObjectStore, objectKey, type StoredObject, type StoredResource } from '../object-store.js';
import { badRequest, expiredStatus, tooLargeResourceVersion } from '../status.js';
import { API_VERSIONS, copy, LIST_KINDS, statusErrorFrom } from './context.js';
import type { ListQuery, ListResult } from './queries.js';
import { listOptionsInvalid, matcherFor, matches, parseResourceVersion } from './selection.js';

const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

interface ContinueToken {
  readonly resourceVersion: number;
  readonly start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.resourceVersion, start: token.start }),
  ).toString('base64url');
}

/**
 * The resourceVersion of an inconsistent-continue token: "the latest", as etcd3 storage encodes it
 * (-1, so that it differs from a bad token's 0).
 */
const INCONSISTENT_CONTINUE = -1;

/**
 * The 410 for a continue token whose version is compacted, as etcd3 storage answers it
 * (handleCompactedErrorForPaging in staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go): the
 * Status carries in `metadata.continue` a fresh token from the same key at the latest version, for a
 * client that accepts an inconsistent rest of the list.
 */
function expiredContinue(token: ContinueToken): KubernetesError {
  const status = expiredStatus(EXPIRED_CONTINUE_MESSAGE);
  status.metadata = {
    continue: encodeContinue({ resourceVersion: INCONSISTENT_CONTINUE, start: token.start }),
  };
  return KubernetesError.fromStatus(status);
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {
      v?: unknown;
      rv?: unknown;
      start?: unknown;
    };
    if (
      parsed.v !== 'meta.k8s.io/v1' ||
      !Number.isInteger(parsed.rv) ||
      (parsed.rv as number) === 0 ||
      (parsed.rv as number) < INCONSISTENT_CONTINUE ||
      typeof parsed.start !== 'string'
    )
      throw new Error();
    return { resourceVersion: parsed.rv as number, start: parsed.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

/**
 * A list as the apiserver serves it: selectors, `limit`/`continue` paging over one snapshot, and the
 * resourceVersion/resourceVersionMatch semantics (410 for expired versions and tokens, 504 for future ones).
 */
export function listObjects(
  store: ObjectStore,
  resource: StoredResource,
  namespace: string | undefined,
  query: ListQuery,
): ListResult<StoredObject> {
  const matcher = matcherFor(resource, namespace, query);
  const limit = query.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0)
    throw badRequest(`limit: Invalid value: ${limit}: must be an integer >= 0`);
  let snapshotVersion: number;
  let start = '';
  if (query.continue) {
    if (query.resourceVersion && query.resourceVersion !== '0') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const token = decodeContinue(query.continue);
    if (token.resourceVersion === INCONSISTENT_CONTINUE) {
      // The token a 410 hands out: the rest of the list at the latest version.
      snapshotVersion = store.resourceVersion;
    } else {
      if (token.resourceVersion < store.oldestServableOf(resource)) throw expiredContinue(token);
      if (token.resourceVersion > store.resourceVersion)
        throw badRequest('continue key is not valid: resourceVersion is in the future');
      snapshotVersion = token.resourceVersion;
    }
    start = token.start;
  } else {
    const requested = query.resourceVersion;
    const match = query.resourceVersionMatch;
    if (match !== undefined && match !== 'NotOlderThan' && match !== 'Exact') {
      listOptionsInvalid(
        'resourceVersionMatch',
        `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      );
    }
    if (match !== undefined && (requested === undefined || requested === '')) {
      listOptionsInvalid(
        'resourceVersionMatch',
        'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      );
    }
    if (match === 'Exact' && requested === '0') {
      listOptionsInvalid(
        'resourceVersionMatch',
        'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      );
    }
    const version = requested === undefined || requested === '' ? undefined : parseResourceVersion(requested);
    if (version !== undefined && version > store.resourceVersion) {
      throw statusErrorFrom(tooLargeResourceVersion(version, store.resourceVersion));
    }
    if (match === 'Exact' && version !== undefined) {
      if (version < store.oldestServableOf(resource)) {
        throw statusErrorFrom(expiredStatus('The resourceVersion for the provided list is too old.'));
      }
      snapshotVersion = version;
    } else {
      snapshotVersion = store.resourceVersion;
    }
  }
  // Only the page is read (binary search to its start, then the page and one more), never the whole
  // store: a page costs O(page size), as etcd's range read does.
  const page = store.page(resource, {
    resourceVersion: snapshotVersion,
    prefix:
      resource === 'namespaces' || matcher.namespace === undefined ? '' : objectKey(matcher.namespace, ''),
    start,
    limit,
    // The prefix is the namespace; selectors filter (and then the remaining count is not known).
    ...(matcher.fields.length === 0 && matcher.labels.length === 0
      ? {}
      : { filter: (object: StoredObject) => matches(matcher, resource, object) }),
  });
  const metadata: ListResult<StoredObject>['metadata'] = { resourceVersion: String(snapshotVersion) };
  if (page.more) {
    const last = page.items[page.items.length - 1] as { key: string };
    metadata.continue = encodeContinue({ resourceVersion: snapshotVersion, start: `${last.key}\u0000` });
    if (page.remaining !== undefined) metadata.remainingItemCount = page.remaining;
  }
  return {
    apiVersion: API_VERSIONS[resource],
    kind: LIST_KINDS[resource],
    metadata,
    items: page.items.map(({ object }) => copy(object)),
  };
}
