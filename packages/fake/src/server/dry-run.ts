import { silentLogger } from '@podstorage/core';
import { FakeClock } from '../fake-clock.js';
import { FakeCluster } from '../fake-cluster.js';
import { failureStatus } from '../status.js';
import { StatusFailure } from './status-failure.js';

// `dryRun=All` as the apiserver's: the request goes through decoding, defaulting, validation, admission
// and the storage checks (a name taken, a stale resourceVersion, preconditions), and the answer is the
// object as it would be, but nothing is stored and no watcher sees a change. Here the request runs on a
// scratch cluster restored from a snapshot of the real one, on a clock of its own that never moves, with
// no simulated kubelet, so no timer or event of the real cluster is touched.

/** Whether a write is a dry run; a `dryRun` value other than `All` is the apiserver's 422. */
export function isDryRun(query: URLSearchParams, optionsKind: string): boolean {
  const values = query.getAll('dryRun').filter((value) => value !== '');
  if (values.length === 0) return false;
  if (values.every((value) => value === 'All')) return true;
  const message = `${optionsKind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: ${JSON.stringify(values)}: supported values: "All"`;
  throw new StatusFailure(
    failureStatus(
      422,
      message,
      {
        kind: optionsKind,
        group: 'meta.k8s.io',
        causes: [{ reason: 'FieldValueNotSupported', field: 'dryRun', message }],
      },
      'Invalid',
    ),
    message,
  );
}

/** A throwaway copy of a cluster's objects and resourceVersion, to run a dry-run request against. */
export function scratchCluster(cluster: FakeCluster): FakeCluster {
  const scratch = new FakeCluster({
    clock: new FakeClock({ start: cluster.clock.date() }),
    mode: 'manual',
    watchdog: false,
    logger: silentLogger,
    namespaces: [],
  });
  scratch.restore(cluster.snapshot());
  return scratch;
}

/**
 * The answer of a dry run, as the apiserver's dry-run storage gives it: a created object has no
 * resourceVersion (nothing was written); an updated or deleted one keeps the stored one's.
 */
export function dryRunAnswer(body: unknown, operation: string, storedVersion: string | undefined): unknown {
  const object = body as { kind?: string; metadata?: Record<string, unknown> } | undefined;
  if (object?.metadata === undefined || object.kind === 'Status') return body;
  const metadata = { ...object.metadata };
  if (operation === 'create') delete metadata.resourceVersion;
  else if (storedVersion !== undefined) metadata.resourceVersion = storedVersion;
  return { ...object, metadata };
}
