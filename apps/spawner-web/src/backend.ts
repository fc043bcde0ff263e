import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, PodTransport } from '@podstorage/core';
import { FakeClock, FakeCluster, type LifecycleScript } from '@podstorage/fake';

/** The backends the spawner can run on. */
export const BACKENDS = ['fake', 'undici', 'client-node'] as const;

/** One of {@link BACKENDS}. */
export type BackendName = (typeof BACKENDS)[number];

/** How to reach a cluster. */
export interface BackendOptions {
  /** Default `fake`: the embedded in-memory cluster with its simulated kubelet. */
  readonly backend?: BackendName;
  /** A kubeconfig file for the network backends. Default: `$KUBECONFIG`, then `~/.kube/config`. */
  readonly kubeconfig?: string;
  /** The kubeconfig context to use. Default: its current context. */
  readonly context?: string;
  /** The namespace the spawner works in, when given; the embedded cluster creates it (default `default`). */
  readonly namespace?: string | undefined;
  /**
   * For the fake backend: a cluster to use instead of a new embedded one. Its clock is left to the
   * caller (tests advance it), and it is not closed with the spawner.
   */
  readonly cluster?: FakeCluster;
  /** For the embedded cluster: how many times faster than the wall clock its time runs. Default 1. */
  readonly speed?: number;
}

/** A connected backend: the transport, the clock to time operations with, and how to let go of it. */
export interface Backend {
  readonly name: BackendName;
  readonly transport: PodTransport & Required<Pick<PodTransport, 'create'>>;
  /** The fake cluster's clock on the fake backend; the system clock otherwise. */
  readonly clock: Clock | undefined;
  /** The fake cluster, on the fake backend. */
  readonly cluster: FakeCluster | undefined;
  /**
   * The namespace of the kubeconfig context, when it names one (as kubectl and pod-runner take it);
   * `undefined` on the fake.
   */
  readonly defaultNamespace: string | undefined;
  /** One line for the log: what the spawner talks to. */
  readonly description: string;
  /** Stops what the backend started (the embedded cluster's clock driver). */
  close(): Promise<void>;
}

/**
 * The lifecycle of pods on the embedded cluster: long enough to watch each stage go by (a scheduling
 * pause, an image pull of a few seconds); the run time comes from each pod's own script.
 */
export const EMBEDDED_LIFECYCLE: LifecycleScript = { scheduleAfterMs: 600, pullMs: 3_000, runMs: 5_000 };

// The shapes the backend packages promise (DESIGN.md). Typed here rather than imported, so the spawner
// builds and runs on the fake before those packages land.
interface UndiciModule {
  createUndiciTransport(options?: {
    kubeconfig?: string | object;
    context?: string;
  }): PodTransport & { readonly namespace?: string };
}
interface ClientNodeModule {
  createClientNodeTransport(options: { kubeConfig: unknown }): PodTransport;
  /** Reads kubeconfigs as kubectl does (merged KUBECONFIG, relative paths, exec interactiveMode). */
  loadKubeConfig?(
    KubeConfig: new () => KubeConfig,
    options: { kubeconfig?: string; context?: string },
  ): KubeConfig;
}

/** Connects to the chosen backend, importing a network backend's package only when it is chosen. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  const name = options.backend ?? 'fake';
  switch (name) {
    case 'fake':
      return openFake(options);
    case 'undici': {
      const module = (await import('@podstorage/undici')) as unknown as Partial<UndiciModule>;
      if (typeof module.createUndiciTransport !== 'function') {
        throw new Error('@podstorage/undici does not export createUndiciTransport (not built yet?)');
      }
      const transport = module.createUndiciTransport({
        ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
        ...(options.context === undefined ? {} : { context: options.context }),
      });
      return network(name, transport, describeKubeconfig(options), transport.namespace);
    }
    case 'client-node': {
      const module = (await import('@podstorage/client-node')) as unknown as Partial<ClientNodeModule>;
      if (typeof module.createClientNodeTransport !== 'function') {
        throw new Error('@podstorage/client-node does not export createClientNodeTransport (not built yet?)');
      }
      const { KubeConfig } = await import('@kubernetes/client-node');
      const where = {
        ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
        ...(options.context === undefined ? {} : { context: options.context }),
      };
      let kubeConfig: KubeConfig;
      if (module.loadKubeConfig !== undefined) {
        kubeConfig = module.loadKubeConfig(KubeConfig, where);
      } else {
        // Before @podstorage/client-node had loadKubeConfig: client-node's own loading.
        kubeConfig = new KubeConfig();
        if (options.kubeconfig === undefined) kubeConfig.loadFromDefault();
        else kubeConfig.loadFromFile(options.kubeconfig);
        if (options.context !== undefined) kubeConfig.setCurrentContext(options.context);
      }
      const transport = module.createClientNodeTransport({ kubeConfig });
      const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
      return network(name, transport, describeKubeconfig(options), context?.namespace);
    }
    default:
      throw new Error(`unknown backend ${JSON.stringify(name)}: use one of ${BACKENDS.join(', ')}`);
  }
}

function openFake(options: BackendOptions): Backend {
  const namespace = options.namespace ?? 'default';
  const given = options.cluster;
  const cluster =
    given ??
    new FakeCluster({
      // Starts at the real time, so the cluster's timestamps read like the browser's clock.
      clock: new FakeClock({ start: new Date() }),
      namespaces: [namespace],
      defaultLifecycle: EMBEDDED_LIFECYCLE,
    });
  if (given !== undefined && given.getNamespace(namespace) === undefined) given.createNamespace(namespace);
  const speed = options.speed ?? 1;
  const stopClock = given === undefined ? cluster.clock.followRealTime({ speed }) : undefined;
  return {
    name: 'fake',
    defaultNamespace: undefined,
    transport: requireCreate(cluster.transport()),
    clock: cluster.clock,
    cluster,
    description:
      given === undefined
        ? `the embedded fake cluster (simulated kubelet, time x${speed})`
        : 'a fake cluster driven by the caller',
    close: async () => {
      await stopClock?.();
    },
  };
}

function network(
  name: BackendName,
  transport: PodTransport,
  where: string,
  defaultNamespace: string | undefined,
): Backend {
  return {
    name,
    defaultNamespace: defaultNamespace || undefined,
    transport: requireCreate(transport),
    clock: undefined,
    cluster: undefined,
    description: `${where} through @podstorage/${name}`,
    // Transports that pool connections (undici's agent) let them go here.
    close: async () => {
      await (transport as { close?: () => Promise<void> }).close?.();
    },
  };
}

function describeKubeconfig(options: BackendOptions): string {
  const file = options.kubeconfig ?? 'the default kubeconfig';
  return options.context === undefined ? file : `${file} (context ${options.context})`;
}

function requireCreate(transport: PodTransport): Backend['transport'] {
  if (typeof transport.create !== 'function') {
    throw new Error('this transport cannot create pods (PodTransport.create is missing)');
  }
  return transport as Backend['transport'];
}
