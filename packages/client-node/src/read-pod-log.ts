import { PassThrough } from 'node:stream';
import { type PodLogOptions, PodStorageError } from '@podstorage/core';
import type { ClientNodeModule, KubeConfigLike } from './client-library.js';
import { translateRequestError } from './errors.js';
import { raceAbort } from './race-abort.js';

/** client-node's `Log` helper (both majors): one streaming GET of `pods/NAME/log`, piped into `stream`. */
export interface LogLike {
  log(
    namespace: string,
    podName: string,
    containerName: string,
    stream: NodeJS.WritableStream,
    options: Record<string, unknown>,
  ): Promise<AbortController>;
}

/**
 * A container's log through client-node's `Log`, as text chunks. Resolves once the server answered;
 * aborting `signal` or stopping the iteration aborts the request (also when `signal` aborts before the
 * answer: the controller client-node hands back late is aborted at once). client-node keeps only the
 * HTTP code of a refusal, so 4xx errors carry no server message.
 */
export async function readPodLogWithClient(
  client: ClientNodeModule,
  kubeConfig: KubeConfigLike,
  namespace: string,
  name: string,
  options: PodLogOptions,
  signal: AbortSignal,
): Promise<AsyncIterable<string>> {
  const LogClass = (client as { Log?: new (config: never) => LogLike }).Log;
  if (LogClass === undefined) throw new PodStorageError('this @kubernetes/client-node has no Log helper');
  const output = new PassThrough();
  // client-node pipes the response into `output` and leaves the response stream without an error
  // listener: aborting it would be an uncaught error. The failure reaches the reader through `output`.
  let sourceFailure: Error | undefined;
  output.on('pipe', (source: NodeJS.ReadableStream) => {
    source.on('error', (error: Error) => {
      sourceFailure ??= error;
      output.destroy(error);
    });
  });
  const started = new LogClass(kubeConfig as never).log(namespace, name, options.container ?? '', output, {
    follow: options.follow ?? false,
    previous: options.previous ?? false,
    timestamps: options.timestamps ?? false,
    ...(options.sinceTime === undefined ? {} : { sinceTime: options.sinceTime }),
    ...(options.sinceSeconds === undefined ? {} : { sinceSeconds: options.sinceSeconds }),
    ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
    ...(options.limitBytes === undefined ? {} : { limitBytes: options.limitBytes }),
  });
  let controller: AbortController;
  try {
    controller = await raceAbort(started, signal);
  } catch (error) {
    void started.then(
      (late) => late.abort(),
      () => {},
    );
    output.destroy();
    if (signal.aborted) throw signal.reason;
    throw translateRequestError(error, { operation: 'read pod log', namespace, name, kind: 'Pod' });
  }
  return (async function* () {
    const decoder = new TextDecoder('utf-8');
    const onAbort = () => {
      controller.abort();
      output.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of output) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        if (text !== '') yield text;
      }
      const rest = decoder.decode();
      if (rest !== '') yield rest;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new PodStorageError(
        `read pod log: the log stream broke off (${(sourceFailure ?? (error as Error)).message})`,
        {
          cause: error,
          retryable: true,
        },
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
      controller.abort();
      output.destroy();
    }
  })();
}
