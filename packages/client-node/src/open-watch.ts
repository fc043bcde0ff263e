import type { Logger, WatchEvent } from '@podstorage/core';
import { CallConnection } from './call-connection.js';
import type { ClientNodeModule, KubeConfigLike, RequestContextLike } from './client-library.js';
import { authenticationError, finalNetworkError } from './configuration-errors.js';
import { errorFromResponse } from './errors.js';
import { WatchChannel } from './watch-channel.js';

/** What one watch needs from the transport. */
export interface OpenWatchOptions {
  readonly client: ClientNodeModule;
  readonly kubeConfig: KubeConfigLike;
  readonly path: string;
  readonly query: Record<string, string | number | boolean | undefined>;
  readonly signal: AbortSignal;
  readonly onActivity: (() => void) | undefined;
  readonly logger: Logger;
  /** For messages and errors, such as `watch pods`. */
  readonly operation: string;
  readonly namespace: string | undefined;
  /** Called once the watch has released everything it held. */
  readonly onReleased: (released: Promise<void>) => void;
}

interface FetchOptionsLike {
  agent?: unknown;
}

// client-node 2.x aborts a watch that received nothing for 30 s (its `requestTimeoutMs`; a fixed 30 s
// after the start in 2.0.0, upstream #3020) and reports it to `done` as this DOMException.
function isClientTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
}

/**
 * Opens a watch through the client's `Watch` and hands it out as an async iterable of events. The
 * promise resolves once the server accepted the watch (headers received), and rejects with the
 * `KubernetesError` of a refused one (its Status and Retry-After read off the wire: the client keeps
 * only the status code). Exactly one outcome per watch, however often the client calls `done`. The
 * client's inactivity abort becomes a clean end of the stream. Aborting `signal` rejects or fails the
 * iteration at once and destroys the connection, before headers too.
 */
export async function openWatch<T>(options: OpenWatchOptions): Promise<AsyncIterable<WatchEvent<T>>> {
  const { signal, logger } = options;
  signal.throwIfAborted();
  const connection = new CallConnection(signal, options.onActivity);
  let controller: AbortController | undefined;
  let accepted = false;
  let finished = false;
  let doneCalls = 0;
  let rejectStart: (error: unknown) => void = () => {};
  let resolveStart: () => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    rejectStart = reject;
  });

  const finish = (outcome: { error: unknown } | undefined): void => {
    if (finished) return;
    finished = true;
    signal.removeEventListener('abort', onAbort);
    controller?.abort();
    options.onReleased(connection.release());
    if (!accepted) {
      rejectStart(outcome?.error ?? new Error(`${options.operation}: the stream ended before it started`));
    } else if (outcome === undefined) {
      channel.end();
    } else {
      channel.fail(outcome.error, { discard: signal.aborted });
    }
  };
  const channel = new WatchChannel<WatchEvent<T>>(() => finish(undefined));
  const onAbort = () => finish({ error: signal.reason });
  signal.addEventListener('abort', onAbort, { once: true });

  const done = (error: unknown): void => {
    doneCalls += 1;
    if (finished) {
      if (doneCalls > 1) {
        logger.debug(
          { operation: options.operation, call: doneCalls, err: error },
          'client-node called the watch done callback again: ignored',
        );
      }
      return;
    }
    if (error === null || error === undefined) {
      finish(undefined);
      return;
    }
    if (accepted && isClientTimeout(error)) {
      logger.debug(
        { operation: options.operation },
        'client-node aborted a quiet watch (its 30 s inactivity timeout): ending the stream for a resume',
      );
      finish(undefined);
      return;
    }
    const { status, headers, body } = connection.response();
    const code = status ?? (error as { statusCode?: unknown }).statusCode;
    if (typeof code === 'number' && (code < 200 || code >= 300)) {
      finish({
        error: errorFromResponse(code, body, headers, {
          operation: options.operation,
          ...(options.namespace ? { namespace: options.namespace } : {}),
          cause: error,
          fallbackMessage: error instanceof Error ? error.message : String(error),
        }),
      });
      return;
    }
    finish({ error: finalNetworkError(error, options.kubeConfig, options.operation) });
  };

  const { kubeConfig } = options;
  // Both methods below apply the credentials (2.x the first, 1.x the second): an exec plugin that
  // cannot work is final, not a network error to retry.
  const authenticated = async <R>(apply: () => Promise<R>): Promise<R> => {
    try {
      return await apply();
    } catch (error) {
      throw authenticationError(error, kubeConfig.getCurrentUser?.());
    }
  };
  // The Watch sees this stand-in for the KubeConfig: every call's dispatcher (2.x) or agent (1.x) goes
  // through the connection, which binds it to `signal` and destroys it when the watch ends.
  const config = {
    getCurrentCluster: () => kubeConfig.getCurrentCluster(),
    applySecurityAuthentication: async (context: RequestContextLike) => {
      await authenticated(() =>
        (
          kubeConfig as unknown as { applySecurityAuthentication(context: RequestContextLike): Promise<void> }
        ).applySecurityAuthentication(context),
      );
      connection.prepare(context);
    },
    applyToFetchOptions: async (fetchOptions: object) => {
      const init = await authenticated(() =>
        (
          kubeConfig as unknown as { applyToFetchOptions(options: object): Promise<FetchOptionsLike> }
        ).applyToFetchOptions(fetchOptions),
      );
      signal.throwIfAborted();
      if (init.agent && typeof init.agent === 'object') {
        init.agent = connection.agent(init.agent as Parameters<CallConnection['agent']>[0]);
      }
      return init;
    },
  };

  try {
    const watch = new options.client.Watch(config as never);
    watch
      .watch(
        options.path,
        options.query,
        (type, object) => {
          if (!finished) channel.push({ type, object } as WatchEvent<T>);
        },
        done,
      )
      .then(
        (returned) => {
          controller = returned;
          if (finished) {
            returned.abort();
            return;
          }
          accepted = true;
          resolveStart();
        },
        (error: unknown) => done(error ?? new Error(`${options.operation} failed`)),
      );
  } catch (error) {
    done(error);
  }
  await started;
  return channel;
}
