import { describe, expect, it } from 'vitest';
import {
  decodeProtobuf,
  decodeWatchFrames,
  encodeProtobuf,
  encodeWatchFrame,
  PROTOBUF_MAGIC,
} from './protobuf-codec.js';

// The envelope of k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go: `k8s\0` + runtime.Unknown.
describe('the Kubernetes protobuf codec', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      labels: { app: 'web' },
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Apply',
          apiVersion: 'v1',
          time: '2026-01-01T00:00:01Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '100m' } },
          livenessProbe: { httpGet: { path: '/', port: 'http' } },
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
      terminationGracePeriodSeconds: 0,
    },
    status: {
      phase: 'Succeeded',
      containerStatuses: [
        {
          name: 'main',
          ready: false,
          restartCount: 0,
          image: 'busybox',
          imageID: '',
          state: { terminated: { exitCode: 0, reason: 'Completed' } },
        },
      ],
    },
  };

  it('round-trips a pod: times, quantities, int-or-strings, managedFields, zero values and empty messages', () => {
    const body = encodeProtobuf(pod);
    expect(body?.subarray(0, 4).equals(PROTOBUF_MAGIC)).toBe(true);
    expect(decodeProtobuf(body as Buffer)).toEqual(pod);
  });

  it('frames watch events with a length prefix', () => {
    const frames = Buffer.concat([encodeWatchFrame('ADDED', pod), encodeWatchFrame('DELETED', pod)]);
    expect(frames.readUInt32BE(0)).toBe(encodeWatchFrame('ADDED', pod).length - 4);
    expect(decodeWatchFrames(frames).map((event) => event.type)).toEqual(['ADDED', 'DELETED']);
    expect(decodeWatchFrames(frames)[1]?.object).toEqual(pod);
  });

  it('encodes a meta/v1 Status and a list', () => {
    const status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: 'pods "x" not found',
      reason: 'NotFound',
      code: 404,
      details: { name: 'x', kind: 'pods' },
    };
    expect(decodeProtobuf(encodeProtobuf(status) as Buffer)).toEqual({ ...status, metadata: {} });
    const list = { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7' }, items: [pod] };
    // Items carry no apiVersion and kind in protobuf, as from the apiserver.
    const { apiVersion: _apiVersion, kind: _kind, ...item } = pod;
    expect(decodeProtobuf(encodeProtobuf(list) as Buffer)).toEqual({ ...list, items: [item] });
  });

  it('refuses a body without the magic or of an unknown kind, naming it', () => {
    expect(() => decodeProtobuf(Buffer.from('{"kind":"Pod"}'))).toThrow(/magic/);
    const unknownKind = encodeProtobuf({ apiVersion: 'v1', kind: 'Pod' }) as Buffer;
    // Rewrite the kind in the envelope: "Pod" → "Pxd".
    const index = unknownKind.indexOf('Pod');
    unknownKind.write('Pxd', index);
    expect(() => decodeProtobuf(unknownKind)).toThrow(/no kind "Pxd" is registered for version "v1"/);
  });

  it('returns undefined for a kind it has no message for', () => {
    expect(encodeProtobuf({ apiVersion: 'v1', kind: 'Nothing' })).toBeUndefined();
  });
});
