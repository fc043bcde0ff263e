import type { Status } from '@podstorage/core';

/**
 * A failure the server answers with a Status before the request reaches the cluster (bad body, bad
 * query, unknown path). Cluster failures are core's `KubernetesError`; both carry a Status.
 */
export class StatusFailure extends Error {
  readonly status: Status;
  /** Close the connection after answering (the body was not read to its end). */
  readonly closeConnection: boolean;

  constructor(status: Status, message: string, options: { closeConnection?: boolean } = {}) {
    super(message);
    this.name = 'StatusFailure';
    this.status = status;
    this.closeConnection = options.closeConnection ?? false;
  }
}
