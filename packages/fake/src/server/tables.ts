// Server-side printing: the `meta.k8s.io` Table the apiserver answers `Accept: application/json;as=Table`
// with. The columns and cells follow kubernetes/kubernetes pkg/printers/internalversion/printers.go
// (printPod, printEvent, printNamespace, printNode, printLease), which the apiserver always runs with `Wide: true`
// (pkg/printers/storage/storage.go): kubectl hides the columns of priority 1 unless `-o wide`.
import type { KubernetesEvent, Pod, WatchEvent } from '@podstorage/core';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Namespace, Node } from 'kubernetes-types/core/v1.js';
import { badRequest } from '../status.js';

/** One column of a Table (`metav1.TableColumnDefinition`). */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** One row: the cells, the `Completed` row condition of finished pods, and the object as asked. */
export interface TableRow {
  cells: (string | number)[];
  conditions?: { type: string; status: string; reason: string; message: string }[];
  object?: unknown;
}

/** The resources a Table can be printed for. */
export type PrintedResource = 'pods' | 'events' | 'namespaces' | 'nodes' | 'leases';

function column(name: string, description: string, extra: Partial<TableColumn> = {}): TableColumn {
  return { name, type: 'string', format: '', description, priority: 0, ...extra };
}

const NAME = column('Name', 'Name must be unique within a namespace.', { format: 'name' });
const AGE = column(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

/** The column definitions of each resource, in the apiserver's order. */
export const TABLE_COLUMNS: Record<PrintedResource, readonly TableColumn[]> = {
  pods: [
    NAME,
    column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE,
    column('IP', 'podIP address allocated to the pod.', { priority: 1 }),
    column('Node', 'NodeName indicates in which node this pod is scheduled.', { priority: 1 }),
    column('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.', {
      priority: 1,
    }),
    column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', {
      priority: 1,
    }),
  ],
  events: [
    column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    column(
      'Reason',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    column('Object', 'The object that this event is about.'),
    column('Subobject', 'The field of the involved object the event is about.', { priority: 1 }),
    column('Source', 'The component reporting this event.', { priority: 1 }),
    column('Message', 'A human-readable description of the status of this operation.'),
    column('First Seen', 'The time at which the event was first recorded.', { priority: 1 }),
    column('Count', 'The number of times this event has occurred.', { priority: 1 }),
    { ...NAME, priority: 1 },
  ],
  namespaces: [NAME, column('Status', 'The status of the namespace'), AGE],
  leases: [
    NAME,
    column(
      'Holder',
      'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
    ),
    AGE,
  ],
  nodes: [
    NAME,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    AGE,
    column('Version', 'Kubelet Version reported by the node.'),
    column('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    column('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    column('OS-Image', 'OS Image reported by the node from /etc/os-release.', { priority: 1 }),
    column('Kernel-Version', "Kernel Version reported by the node from 'uname -r'.", { priority: 1 }),
    column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API.', {
      priority: 1,
    }),
  ],
};

/**
 * How long ago, as kubectl shows ages: apimachinery's `duration.HumanDuration`
 * (pkg/util/duration/duration.go): `45s`, `3m20s`, `15m`, `5h10m`, `2d3h`, `400d`, `3y20d`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1_000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 365 * 8) {
    const rest = days % 365;
    return rest === 0 ? `${Math.trunc(days / 365)}y` : `${Math.trunc(days / 365)}y${rest}d`;
  }
  return `${Math.trunc(days / 365)}y`;
}

/** `translateTimestampSince`: `<unknown>` for no timestamp, else the age at `now`. */
function since(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(timestamp));
}

type ContainerStatus = NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number];

function restartable(pod: Pod, name: string): boolean {
  return pod.spec?.initContainers?.find((container) => container.name === name)?.restartPolicy === 'Always';
}

function terminatedAt(status: ContainerStatus): number | undefined {
  const finished = status.lastState?.terminated?.finishedAt;
  return finished ? Date.parse(finished) : undefined;
}

/** The columns of `kubectl get pods` that say how a pod is doing, as {@link podColumns} gives them. */
export interface PodColumns {
  /** READY: ready containers / containers, such as `1/1`. */
  readonly ready: string;
  /** STATUS: the phase, or kubectl's reason (`CrashLoopBackOff`, `Error`, `Init:0/1`, `Terminating` …). */
  readonly status: string;
  /** RESTARTS: the count, with how long ago the last one was: `3 (12s ago)`. */
  readonly restarts: string;
}

/**
 * READY, STATUS and RESTARTS of a pod, as kubectl 1.32 prints them at `now`
 * (pkg/printers/internalversion/printers.go printPod), for pages and reports that show pods as
 * `kubectl get pods` does.
 */
export function podColumns(pod: Pod, now: Date): PodColumns {
  const [, ready, status, restarts] = podRow(pod, now).cells as string[];
  return { ready: ready ?? '', status: status ?? '', restarts: restarts ?? '' };
}

/** The row of one pod, as `printPod` computes READY, STATUS (with kubectl's reasons) and RESTARTS. */
function podRow(pod: Pod, now: Date): TableRow {
  const status = pod.status ?? {};
  const initContainers = pod.spec?.initContainers ?? [];
  let restarts = 0;
  let restartableRestarts = 0;
  let totalContainers = (pod.spec?.containers ?? []).length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.max(a, b);
  let reason: string = status.reason || status.phase || '';
  for (const condition of status.conditions ?? []) {
    if (condition.type === 'PodScheduled' && condition.reason === 'SchedulingGated')
      reason = 'SchedulingGated';
  }
  for (const container of initContainers) if (container.restartPolicy === 'Always') totalContainers++;

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (const [index, container] of initStatuses.entries()) {
    restarts += container.restartCount ?? 0;
    lastRestart = later(lastRestart, terminatedAt(container));
    const sidecar = restartable(pod, container.name);
    if (sidecar) {
      restartableRestarts += container.restartCount ?? 0;
      lastRestartableRestart = later(lastRestartableRestart, terminatedAt(container));
    }
    const terminated = container.state?.terminated;
    const waiting = container.state?.waiting;
    if (terminated !== undefined && terminated.exitCode === 0) continue;
    if (sidecar && container.started === true) {
      if (container.ready) readyContainers++;
      continue;
    }
    if (terminated !== undefined) {
      if (!terminated.reason) {
        reason = terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${terminated.exitCode}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${index}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  const initialized = (status.conditions ?? []).some(
    (condition) => condition.type === 'Initialized' && condition.status === 'True',
  );
  if (!initializing || initialized) {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let index = statuses.length - 1; index >= 0; index--) {
      const container = statuses[index] as ContainerStatus;
      restarts += container.restartCount ?? 0;
      lastRestart = later(lastRestart, terminatedAt(container));
      const waiting = container.state?.waiting;
      const terminated = container.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated !== undefined)
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      else if (container.ready && container.state?.running !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed but another still runs is shown by its readiness.
    if (reason === 'Completed' && hasRunning) {
      const ready = (status.conditions ?? []).some(
        (condition) => condition.type === 'Ready' && condition.status === 'True',
      );
      reason = ready ? 'Running' : 'NotReady';
    }
  }

  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = 'Terminating';

  const restartText =
    restarts !== 0 && lastRestart !== undefined
      ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`
      : String(restarts);
  const gates = pod.spec?.readinessGates ?? [];
  const trueGates = gates.filter((gate) =>
    (status.conditions ?? []).some(
      (condition) => condition.type === gate.conditionType && condition.status === 'True',
    ),
  ).length;
  const row: TableRow = {
    cells: [
      pod.metadata?.name ?? '',
      `${readyContainers}/${totalContainers}`,
      reason,
      restartText,
      since(pod.metadata?.creationTimestamp, now),
      status.podIPs?.[0]?.ip || status.podIP || '<none>',
      pod.spec?.nodeName || '<none>',
      status.nominatedNodeName || '<none>',
      gates.length > 0 ? `${trueGates}/${gates.length}` : '<none>',
    ],
  };
  if (status.phase === 'Succeeded') {
    row.conditions = [
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ];
  } else if (status.phase === 'Failed') {
    row.conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  }
  return row;
}

/** `printEvent`: ages of the last and first occurrence, `kind/name` of the object, source `component, host`. */
function eventRow(event: KubernetesEvent, now: Date): TableRow {
  const first = event.firstTimestamp
    ? since(event.firstTimestamp, now)
    : since(event.eventTime as string | undefined, now);
  let last = event.lastTimestamp ? since(event.lastTimestamp, now) : first;
  let count = event.count ?? 0;
  if (event.series) {
    last = since(event.series.lastObservedTime as string | undefined, now);
    count = event.series.count ?? 0;
  } else if (count === 0) {
    count = 1;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = event.source?.component || event.reportingComponent || '';
  const instance = event.source?.host || event.reportingInstance || '';
  const source = component === '' ? '<unknown>' : instance === '' ? component : `${component}, ${instance}`;
  return {
    cells: [
      last,
      event.type ?? '',
      event.reason ?? '',
      target,
      involved.fieldPath ?? '',
      source,
      (event.message ?? '').trim(),
      first,
      count,
      event.metadata?.name ?? '',
    ],
  };
}

function namespaceRow(namespace: Namespace, now: Date): TableRow {
  return {
    cells: [
      namespace.metadata?.name ?? '',
      namespace.status?.phase ?? '',
      since(namespace.metadata?.creationTimestamp, now),
    ],
  };
}

/** `printNode`: Ready/NotReady/Unknown (+SchedulingDisabled), roles from `node-role.kubernetes.io/*` labels. */
function nodeRow(node: Node, now: Date): TableRow {
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  const states = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable) states.push('SchedulingDisabled');
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata?.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (key === 'kubernetes.io/role' && value) {
      roles.add(value);
    }
  }
  const address = (type: string) =>
    node.status?.addresses?.find((entry) => entry.type === type)?.address ?? '<none>';
  const info = node.status?.nodeInfo;
  return {
    cells: [
      node.metadata?.name ?? '',
      states.join(','),
      roles.size > 0 ? [...roles].sort().join(',') : '<none>',
      since(node.metadata?.creationTimestamp, now),
      info?.kubeletVersion ?? '',
      address('InternalIP'),
      address('ExternalIP'),
      info?.osImage || '<unknown>',
      info?.kernelVersion || '<unknown>',
      info?.containerRuntimeVersion || '<unknown>',
    ],
  };
}

/** `printLease`: the holder, `<unknown>` when there is none. */
function leaseRow(lease: Lease, now: Date): TableRow {
  return {
    cells: [
      lease.metadata?.name ?? '',
      lease.spec?.holderIdentity ?? '<unknown>',
      since(lease.metadata?.creationTimestamp, now),
    ],
  };
}

const ROWS: Record<PrintedResource, (object: never, now: Date) => TableRow> = {
  leases: leaseRow,
  pods: podRow,
  events: eventRow,
  namespaces: namespaceRow,
  nodes: nodeRow,
};

/** What to put in each row's `object` (`TableOptions.includeObject`; default `Metadata`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** How a Table is asked for: its `meta.k8s.io` version, what each row carries, whether headers come. */
export interface TableRequest {
  readonly version: 'v1' | 'v1beta1';
  readonly includeObject: IncludeObject;
}

interface Printable {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number } & Record<
    string,
    unknown
  >;
  items?: unknown[];
}

/**
 * A Table of an object or a list, at clock time `now`: `metadata` from the list (or the object's
 * resourceVersion), one row per item. `headers: false` leaves `columnDefinitions` null, as the
 * apiserver does for every watch event after the first.
 */
export function toTable(
  resource: PrintedResource,
  value: Printable,
  request: TableRequest,
  now: Date,
  options: { headers?: boolean } = {},
): object {
  const isList = Array.isArray(value.items);
  const items = (isList ? value.items : [value]) as Printable[];
  const apiVersion = `meta.k8s.io/${request.version}`;
  const rows = items.map((item) => {
    const row = ROWS[resource](item as never, now);
    if (request.includeObject === 'Object') row.object = item;
    else if (request.includeObject === 'Metadata') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion, metadata: item.metadata ?? {} };
    }
    return row;
  });
  const metadata: Record<string, unknown> = {};
  const source = value.metadata ?? {};
  if (source.resourceVersion !== undefined) metadata.resourceVersion = source.resourceVersion;
  if (isList && source.continue !== undefined) metadata.continue = source.continue;
  if (isList && source.remainingItemCount !== undefined)
    metadata.remainingItemCount = source.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: options.headers === false ? null : TABLE_COLUMNS[resource],
    rows,
  };
}

/**
 * The Table an `Accept` header asks for, if its first servable entry is one:
 * `application/json;as=Table;v=v1;g=meta.k8s.io` (or `v1beta1`), as kubectl sends before its fallbacks
 * (`application/json`). Entries asking for another `as` (PartialObjectMetadata) are skipped, as the
 * apiserver skips what it cannot serve. `includeObject` comes from the query, as in `TableOptions`.
 */
export function tableRequestOf(accept: string | undefined, query: URLSearchParams): TableRequest | undefined {
  if (!accept) return undefined;
  for (const entry of accept.split(',')) {
    const [type, ...parameters] = entry.split(';').map((part) => part.trim());
    const params = new Map(
      parameters.map((parameter) => {
        const at = parameter.indexOf('=');
        return at === -1 ? [parameter, ''] : [parameter.slice(0, at).trim(), parameter.slice(at + 1).trim()];
      }),
    );
    const json = type === 'application/json' || type === '*/*' || type === 'application/*';
    if (!json) continue;
    const as = params.get('as');
    if (as === undefined) return undefined;
    const version = params.get('v');
    if (as === 'Table' && params.get('g') === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1')) {
      return { version, includeObject: includeObjectOf(query) };
    }
  }
  return undefined;
}

function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw badRequest(
    `includeObject: Unsupported value: "${value}": supported values: "Metadata", "None", "Object"`,
  );
}

/**
 * A watch stream with every object printed as a one-row Table, as the apiserver's watch encoder does
 * (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go): column definitions on the first event
 * only. ERROR events carry their Status as they are; a BOOKMARK carries an empty Table with its
 * resourceVersion.
 */
export async function* tableWatch(
  resource: PrintedResource,
  stream: AsyncIterable<WatchEvent<unknown>>,
  request: TableRequest,
  now: () => Date,
): AsyncIterable<WatchEvent<unknown>> {
  let headers = true;
  for await (const event of stream) {
    if (event.type === 'ERROR') {
      yield event;
      continue;
    }
    const object = event.object as Printable;
    const table =
      event.type === 'BOOKMARK'
        ? toTable(resource, { ...object, items: [] }, request, now(), { headers })
        : toTable(resource, object, request, now(), { headers });
    headers = false;
    yield { ...event, object: table } as WatchEvent<unknown>;
  }
}
