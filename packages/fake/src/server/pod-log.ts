import type { ServerResponse } from 'node:http';
import type { FakeCluster } from '../fake-cluster.js';
import { podLogQueryOf, type ResourcePath } from './routes.js';

/**
 * `GET /api/v1/namespaces/{namespace}/pods/{name}/log`, as the apiserver proxies it from the kubelet
 * (pkg/registry/core/pod/rest/log.go): `text/plain`, the whole log at once, or with `follow` a chunked
 * stream of lines as the container prints them that ends when the container ends. Errors (404 pod,
 * 400 container) are thrown before anything is sent, so the caller answers them as Status objects.
 */
export async function servePodLog(
  cluster: FakeCluster,
  path: ResourcePath,
  query: URLSearchParams,
  response: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const options = podLogQueryOf(query);
  const namespace = path.namespace ?? '';
  const name = path.name ?? '';
  if (!options.follow) {
    const text = cluster.podLogs(namespace, name, options);
    response.writeHead(200, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
    });
    response.end(text);
    return;
  }
  const stream = cluster.followPodLogs(namespace, name, { ...options, signal });
  // No Transfer-Encoding header: HTTP/1.1 chunks a body without a length by itself, and HTTP/2 (which
  // the server speaks over TLS) refuses connection-specific headers.
  response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  response.flushHeaders();
  try {
    for await (const chunk of stream) {
      if (signal.aborted) break;
      response.write(chunk);
    }
  } catch {
    // Mid-stream, only a broken connection can say so (faults.resetLogStreams): the client sees a reset.
    response.destroy();
  } finally {
    if (!response.writableEnded) response.end();
  }
}
