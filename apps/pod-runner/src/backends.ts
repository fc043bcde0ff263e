import { type Clock, type PodTransport, systemClock } from '@podstorage/core';
import { FakeCluster } from '@podstorage/fake';

/** The backends the runner can use: the two clients of a real cluster (undici is the default), or the fake. */
export const BACKENDS = ['undici', 'client-node', 'fake'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** A transport that can create pods, with what the runner needs to know about where it points. */
export interface Backend {
  readonly transport: PodTransport & { create: NonNullable<PodTransport['create']> };
  /** The clock of the backend: the fake cluster's own, or the system clock for a real cluster. */
  readonly clock: Clock;
  /**
   * Where the pods run, for messages: `the embedded fake cluster (time x6)`, or
   * `context kind-dev (cluster https://127.0.0.1:6443, through undici)`.
   */
  readonly description: string;
  /** The same, as data for `--json`. */
  readonly where: {
    readonly backend: BackendName;
    readonly context?: string;
    readonly server?: string;
  };
  /** The namespace of the kubeconfig context, when it names one. */
  readonly defaultNamespace: string | undefined;
  close(): Promise<void>;
}

export interface BackendOptions {
  readonly backend: BackendName;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Fake only: how many times faster than real time the simulated cluster runs. */
  readonly speed: number;
  /** Fake only: the namespace to create in the fake cluster. */
  readonly namespace: string;
}

function withCreate(transport: PodTransport, backend: string): Backend['transport'] {
  if (transport.create === undefined) throw new Error(`the ${backend} transport cannot create pods`);
  return transport as Backend['transport'];
}

/** Builds the chosen backend. Network backends are loaded only when chosen. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  switch (options.backend) {
    case 'fake': {
      const cluster = new FakeCluster({ namespaces: [...new Set(['default', options.namespace])] });
      const stopClock = cluster.clock.followRealTime({ speed: options.speed });
      return {
        transport: withCreate(cluster.transport(), 'fake'),
        clock: cluster.clock,
        description: `the embedded fake cluster (time x${options.speed})`,
        where: { backend: 'fake' },
        defaultNamespace: undefined,
        close: stopClock,
      };
    }
    case 'undici': {
      const { createUndiciTransport } = await import('@podstorage/undici');
      const transport = createUndiciTransport({ kubeconfig: options.kubeconfig, context: options.context });
      return {
        transport: withCreate(transport, 'undici'),
        clock: systemClock,
        description:
          transport.context === undefined
            ? `the cluster of this pod's service account (${transport.server}, through undici)`
            : `context ${transport.context} (cluster ${transport.server}, through undici)`,
        where: { backend: 'undici', context: transport.context, server: transport.server },
        defaultNamespace: transport.namespace,
        close: () => transport.close(),
      };
    }
    case 'client-node': {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const { createClientNodeTransport, loadKubeConfig } = await import('@podstorage/client-node');
      // Read as kubectl reads it (KUBECONFIG merged, relative paths, exec interactiveMode), not as
      // client-node's loadFromDefault, which falls back to http://localhost:8080 when it finds nothing.
      const kubeConfig = loadKubeConfig(KubeConfig, {
        kubeconfig: options.kubeconfig,
        context: options.context,
      });
      const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
      const transport = createClientNodeTransport({ kubeConfig });
      const server = kubeConfig.getCurrentCluster()?.server;
      return {
        transport: withCreate(transport, 'client-node'),
        clock: systemClock,
        description:
          context === null
            ? `the cluster of this pod's service account (${server}, through client-node)`
            : `context ${context.name} (cluster ${server}, through client-node)`,
        where: { backend: 'client-node', context: context?.name, server },
        defaultNamespace: context?.namespace,
        close: () => transport.close(),
      };
    }
  }
}
