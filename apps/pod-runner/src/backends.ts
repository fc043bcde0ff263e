import { type Clock, type PodTransport, systemClock } from '@podstorage/core';
import { FakeCluster } from '@podstorage/fake';

/** The backends the runner can use. */
export const BACKENDS = ['fake', 'undici', 'client-node'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** A transport that can create pods, with what the runner needs to know about where it points. */
export interface Backend {
  readonly transport: PodTransport & { create: NonNullable<PodTransport['create']> };
  /** The clock of the backend: the fake cluster's own, or the system clock for a real cluster. */
  readonly clock: Clock;
  /** Where the pods run, for messages: `the embedded fake cluster`, `https://… (context x)`. */
  readonly description: string;
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
        description: `${transport.server} (undici${options.context ? `, context ${options.context}` : ''})`,
        defaultNamespace: transport.namespace,
        close: () => transport.close(),
      };
    }
    case 'client-node': {
      const client = await import('@kubernetes/client-node');
      const { createClientNodeTransport } = await import('@podstorage/client-node');
      const kubeConfig = new client.KubeConfig();
      if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
      else kubeConfig.loadFromDefault();
      if (options.context) kubeConfig.setCurrentContext(options.context);
      const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
      if (context === null || kubeConfig.getCurrentCluster() === null) {
        throw new Error(`kubeconfig has no usable context ${JSON.stringify(kubeConfig.getCurrentContext())}`);
      }
      const transport = createClientNodeTransport({ kubeConfig });
      return {
        transport: withCreate(transport, 'client-node'),
        clock: systemClock,
        description: `${kubeConfig.getCurrentCluster()?.server} (client-node, context ${context.name})`,
        defaultNamespace: context.namespace,
        close: () => transport.close(),
      };
    }
  }
}
