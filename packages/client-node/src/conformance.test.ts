import { runConformance } from '@podstorage/conformance';
import { describe, expect, it } from 'vitest';
import { connect, MAJORS } from './clients.test-support.js';

// The full conformance suite, over sockets to the fake API server, for each supported major of
// @kubernetes/client-node, over HTTP and over HTTPS with the fake's CA in the kubeconfig.
for (const major of MAJORS) {
  for (const tls of [false, true]) {
    runConformance(
      { describe, it, expect },
      async (cluster) => {
        const { server, transport } = await connect(cluster, major, tls);
        return {
          transport,
          openHandles: () => server.openConnections(),
          close: async () => {
            await transport.close();
            await server.close();
          },
        };
      },
      {
        name: `PodStorage conformance: ${major.name} over ${tls ? 'HTTPS' : 'HTTP'}`,
        patience: { realMs: 3_000, turnsPerStep: 20 },
        testTimeoutMs: 20_000,
      },
    );
  }
}
