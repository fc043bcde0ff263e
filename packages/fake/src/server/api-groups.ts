// The named API groups the server serves besides the core group: events.k8s.io/v1 (the same events as
// core/v1, converted field by field as k8s.io/kubernetes/pkg/apis/events/v1/conversion.go does) and
// authorization.k8s.io/v1 (self access and rules reviews that allow everything: the fake has no RBAC, and
// a token, when it asks for one, already admits a client to every verb).

type JsonObject = Record<string, unknown>;

/** The core/v1 Event fields and their events.k8s.io/v1 names (metadata and type keep theirs). */
const EVENT_FIELDS: readonly (readonly [core: string, events: string])[] = [
  ['eventTime', 'eventTime'],
  ['series', 'series'],
  ['reportingComponent', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
  ['action', 'action'],
  ['reason', 'reason'],
  ['involvedObject', 'regarding'],
  ['related', 'related'],
  ['message', 'note'],
  ['type', 'type'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

function renamed(object: JsonObject, from: 0 | 1): JsonObject {
  const to = from === 0 ? 1 : 0;
  const result: JsonObject = {};
  if (object.metadata !== undefined) result.metadata = object.metadata;
  for (const pair of EVENT_FIELDS) {
    const value = object[pair[from]];
    if (value !== undefined) result[pair[to]] = value;
  }
  return result;
}

/** A core/v1 Event as events.k8s.io/v1 serves it. */
export function eventToEventsV1(event: JsonObject): JsonObject {
  const converted = renamed(event, 0);
  const series = event.series as { count?: number; lastObservedTime?: string } | undefined;
  if (series !== undefined)
    converted.series = { count: series.count, lastObservedTime: series.lastObservedTime };
  return { kind: 'Event', apiVersion: 'events.k8s.io/v1', ...converted };
}

/** An events.k8s.io/v1 Event as the core/v1 Event the store keeps. */
export function eventFromEventsV1(event: JsonObject): JsonObject {
  return { kind: 'Event', apiVersion: 'v1', ...renamed(event, 1) };
}

/** Converts what the core handlers answer (an Event, an EventList, a Status) for events.k8s.io/v1. */
export function answerAsEventsV1(body: unknown): unknown {
  const object = body as JsonObject | undefined;
  if (object?.kind === 'Event') return eventToEventsV1(object);
  if (object?.kind === 'EventList') {
    return {
      ...object,
      apiVersion: 'events.k8s.io/v1',
      items: ((object.items as JsonObject[] | undefined) ?? []).map(eventToEventsV1),
    };
  }
  return body;
}

const EVENT_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** The named groups, each with its one version and its resources, in the apiserver's order of priority. */
const GROUPS = [
  {
    name: 'events.k8s.io',
    version: 'v1',
    resources: [
      {
        name: 'events',
        singularName: 'event',
        namespaced: true,
        kind: 'Event',
        verbs: EVENT_VERBS,
        shortNames: ['ev'],
      },
    ],
  },
  {
    name: 'authorization.k8s.io',
    version: 'v1',
    resources: [
      {
        name: 'selfsubjectaccessreviews',
        singularName: 'selfsubjectaccessreview',
        namespaced: false,
        kind: 'SelfSubjectAccessReview',
        verbs: ['create'],
      },
      {
        name: 'selfsubjectrulesreviews',
        singularName: 'selfsubjectrulesreview',
        namespaced: false,
        kind: 'SelfSubjectRulesReview',
        verbs: ['create'],
      },
    ],
  },
  {
    // Read-only here: the simulated kubelets write their node leases.
    name: 'coordination.k8s.io',
    version: 'v1',
    resources: [
      {
        name: 'leases',
        singularName: 'lease',
        namespaced: true,
        kind: 'Lease',
        verbs: ['get', 'list', 'watch'],
      },
    ],
  },
] as const;

function groupDocument(group: (typeof GROUPS)[number]): object {
  const version = { groupVersion: `${group.name}/${group.version}`, version: group.version };
  return { name: group.name, versions: [version], preferredVersion: version };
}

/** `GET /apis`. */
export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map(groupDocument) };
}

/** `GET /apis/<group>` and `GET /apis/<group>/<version>`, or `undefined` for any other path. */
export function groupDiscovery(segments: readonly string[]): object | undefined {
  if (segments[0] !== 'apis' || segments.length < 2 || segments.length > 3) return undefined;
  const group = GROUPS.find((candidate) => candidate.name === segments[1]);
  if (group === undefined) return undefined;
  if (segments.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group) };
  if (segments[2] !== group.version) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group.name}/${group.version}`,
    resources: group.resources,
  };
}

const ALLOWED_REASON = 'the podstorage fake cluster allows every request it serves';

/**
 * Answers a SelfSubjectAccessReview or SelfSubjectRulesReview (`POST /apis/authorization.k8s.io/v1/...`):
 * the review back with its status, as the apiserver's registry does (201, no name, no resourceVersion).
 */
export function answerReview(
  resource: string,
  review: JsonObject,
): { code: number; body: JsonObject } | undefined {
  const base = {
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review.spec ?? {},
  };
  if (resource === 'selfsubjectaccessreviews') {
    return {
      code: 201,
      body: { kind: 'SelfSubjectAccessReview', ...base, status: { allowed: true, reason: ALLOWED_REASON } },
    };
  }
  if (resource === 'selfsubjectrulesreviews') {
    return {
      code: 201,
      body: {
        kind: 'SelfSubjectRulesReview',
        ...base,
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      },
    };
  }
  return undefined;
}
