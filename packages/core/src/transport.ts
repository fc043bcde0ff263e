import type { KubernetesEvent, ObjectList, Pod, Status } from './kubernetes.js';
import type { FieldSelector } from './selectors.js';

/** The Kubernetes objects a transport serves, by resource name. */
export interface ResourceTypes {
  pods: Pod;
  events: KubernetesEvent;
}

/** The resources podstorage reads and watches: `pods` and core/v1 `events`. */
export type ResourceName = keyof ResourceTypes;

/** What every transport call takes: the signal that cancels it (closing its stream or socket at once). */
export interface RequestOptions {
  readonly signal: AbortSignal;
}

/** Options for a list call. */
export interface ListOptions extends RequestOptions {
  readonly fieldSelector?: FieldSelector;
  /** A label selector in Kubernetes syntax (`app=web,tier in (a,b)`); transports URL-encode it. */
  readonly labelSelector?: string;
  /** Page size; the server returns `metadata.continue` when more remain. */
  readonly limit?: number;
  /** The `continue` token of the previous page. */
  readonly continue?: string;
  /** Empty or absent: the most recent state. */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
}

/** Options for a watch call. */
export interface WatchOptions extends RequestOptions {
  readonly fieldSelector?: FieldSelector;
  /** A label selector in Kubernetes syntax; transports URL-encode it. */
  readonly labelSelector?: string;
  /** Start after this version; absent: the server first sends the current state as ADDED events. */
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  /**
   * A streaming list: the current state as ADDED events, ended by a BOOKMARK annotated
   * `k8s.io/initial-events-end: "true"`, then changes. Servers need `resourceVersionMatch: NotOlderThan`.
   */
  readonly sendInitialEvents?: boolean;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  /** Ask the server to end the watch after this many seconds. */
  readonly timeoutSeconds?: number;
  /**
   * Called whenever anything arrives on the stream, keep-alive bytes included, so the engine can tell
   * a quiet healthy stream from a stalled one.
   */
  readonly onActivity?: () => void;
}

/** Options for a delete call. */
export interface DeleteOptions extends RequestOptions {
  /** The delete only happens if the object still has this uid / resourceVersion (else 409 Conflict). */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

/** Options for reading a container's log (the `pods/log` subresource; kubectl logs' flags). */
export interface PodLogOptions extends RequestOptions {
  /** The container; the server requires it when the pod has more than one. */
  readonly container?: string;
  /** Keep the stream open and send lines as the container writes them, until it ends. */
  readonly follow?: boolean;
  /** The previous (terminated) instance of a restarted container. */
  readonly previous?: boolean;
  /** Prefix every line with its RFC 3339 time (nanoseconds) and a space. */
  readonly timestamps?: boolean;
  /** Only lines written at or after this RFC 3339 time. */
  readonly sinceTime?: string;
  /** Only lines newer than this many seconds. */
  readonly sinceSeconds?: number;
  /** Only the last lines. */
  readonly tailLines?: number;
  /** At most this many bytes. */
  readonly limitBytes?: number;
}

/** A bookmark: only `metadata.resourceVersion` (and possibly annotations) is meaningful. */
export interface BookmarkObject {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata: {
    readonly resourceVersion: string;
    readonly annotations?: Readonly<Record<string, string>>;
  };
}

/** One event of a watch stream, as the API server sends it. */
export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: BookmarkObject }
  | { readonly type: 'ERROR'; readonly object: Status };

/**
 * How podstorage talks to a cluster. Implementations: `@podstorage/fake` (in memory), `@podstorage/undici`,
 * `@podstorage/client-node`, or your own (prove it with `@podstorage/conformance`).
 *
 * Rules every implementation follows:
 * - Errors from the server are thrown as `KubernetesError` (built from the Status); network failures
 *   may be thrown as any other error and are treated as retryable.
 * - `get` of an absent object throws a `KubernetesError` with code 404.
 * - `watch` resolves once the server has accepted the watch (response headers received) and then yields
 *   events. The iteration ends when the server ends the stream and throws when the connection breaks.
 *   An expired resourceVersion arrives as an ERROR event whose Status has code 410.
 * - Aborting `signal` closes the request or stream at once, also before headers arrive.
 */
export interface PodTransport {
  get<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: RequestOptions,
  ): Promise<ResourceTypes[R]>;
  list<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: ListOptions,
  ): Promise<ObjectList<ResourceTypes[R]>>;
  watch<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>>;
  delete<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<void>;
  /**
   * Creates an object (a pod to run, an event to record) and returns it as the server stored it.
   * Optional: the four PodStorage operations never create anything, but programs that start pods
   * (the pod runner, a spawner) need it, and every bundled transport has it.
   */
  create?<R extends ResourceName>(
    resource: R,
    namespace: string,
    object: ResourceTypes[R],
    options: RequestOptions,
  ): Promise<ResourceTypes[R]>;
  /**
   * Reads a container's log (`GET pods/NAME/log`): resolves once the server has answered (headers
   * received; a container that cannot be read yet is a 400 `KubernetesError`), then yields the text as
   * it arrives, UTF-8 decoded, in chunks that need not end at line ends; with `follow` the iteration
   * ends when the container ends. Aborting `signal` closes the stream at once. Optional: the four
   * operations never read logs, but programs that show a pod's output do.
   */
  readPodLog?(namespace: string, name: string, options: PodLogOptions): Promise<AsyncIterable<string>>;
  /**
   * Called once by the engine after a 401, before retrying: reload a rotated token, re-run an exec
   * plugin. Transports without refreshable credentials leave it out, and 401 is then final.
   */
  refreshCredentials?(options: RequestOptions): Promise<void>;
}
