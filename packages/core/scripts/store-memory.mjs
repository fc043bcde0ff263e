// Measures what a namespace-wide pod watch holds of its own: `node --expose-gc store-memory.mjs [pods]`.
// Prints one JSON line. Run by src/store-memory.test.ts against the built package (dist), in a child
// process so that the heap it measures holds nothing but this. Not a timed test: sizes only.
import { createPodStorage } from '../dist/index.js';

const count = Number(process.argv[2] ?? 50_000);
const pageSize = 500;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

/** A pod as a busy cluster serves it: labels, owner, two containers, conditions and managedFields. */
function podJson(index, resourceVersion, phase) {
  const name = `worker-7f9c8d6b5-${index.toString(36).padStart(5, '0')}`;
  const uid = `6f1c2a3e-${index.toString(16).padStart(4, '0')}-4b5c-9d8e-${(index * 7919).toString(16).padStart(12, '0')}`;
  const time = '2026-12-01T10:00:00Z';
  const container = (containerName) => ({
    name: containerName,
    image: `registry.example.com/team/${containerName}:1.24.3`,
    ports: [{ containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    ],
    resources: { limits: { cpu: '500m', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
    volumeMounts: [
      {
        name: 'kube-api-access-x7k2p',
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      },
    ],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  });
  const pod = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      generateName: 'worker-7f9c8d6b5-',
      namespace: 'default',
      uid,
      resourceVersion,
      creationTimestamp: time,
      labels: { app: 'worker', 'pod-template-hash': '7f9c8d6b5', tier: 'batch' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': time },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'worker-7f9c8d6b5',
          uid: 'c0ffee00-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:generateName': {},
              'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {}, 'f:tier': {} },
              'f:ownerReferences': { '.': {}, 'k:{"uid":"c0ffee00-0000-4000-8000-000000000001"}': {} },
            },
            'f:spec': {
              'f:containers': {
                'k:{"name":"main"}': {
                  '.': {},
                  'f:env': {},
                  'f:image': {},
                  'f:imagePullPolicy': {},
                  'f:name': {},
                  'f:ports': {},
                  'f:resources': {},
                },
                'k:{"name":"sidecar"}': { '.': {}, 'f:image': {}, 'f:name': {} },
              },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
            },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:status': {
              'f:conditions': {
                'k:{"type":"Ready"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} },
              },
              'f:containerStatuses': {},
              'f:hostIP': {},
              'f:phase': {},
              'f:podIP': {},
              'f:startTime': {},
            },
          },
          subresource: 'status',
        },
      ],
    },
    spec: {
      volumes: [
        {
          name: 'kube-api-access-x7k2p',
          projected: {
            sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }],
            defaultMode: 420,
          },
        },
      ],
      containers: [container('main'), container('sidecar')],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      nodeName: `node-${index % 50}`,
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
    },
    status: {
      phase,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: time,
      })),
      hostIP: `10.0.${index % 50}.1`,
      podIP: `10.244.${Math.floor(index / 250)}.${index % 250}`,
      startTime: time,
      containerStatuses: ['main', 'sidecar'].map((containerName) => ({
        name: containerName,
        state: { running: { startedAt: time } },
        ready: true,
        restartCount: 0,
        image: `registry.example.com/team/${containerName}:1.24.3`,
        imageID: `registry.example.com/team/${containerName}@sha256:${'ab'.repeat(32)}`,
        containerID: `containerd://${'cd'.repeat(32)}`,
        started: true,
      })),
      qosClass: 'Burstable',
    },
  };
  return JSON.stringify(pod);
}

let listVersion = 1;
let relisting = false;
let duringRelist = 0;
let baseline = 0;
let expire;
let jsonBytes = 0;

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

// Each page is rendered and parsed afresh, as a transport decodes it from the wire: nothing is shared
// with the caller except what it keeps.
const transport = {
  async list(_resource, _namespace, options) {
    const start = options.continue === undefined ? 0 : Number(options.continue);
    const end = Math.min(count, start + (options.limit ?? count));
    const text = [];
    for (let index = start; index < end; index += 1)
      text.push(podJson(index, String(listVersion * 1_000_000 + index), 'Running'));
    const body = `{"metadata":{"resourceVersion":"${listVersion * 1_000_000 + count}"${end < count ? `,"continue":"${end}"` : ''}},"items":[${text.join(',')}]}`;
    if (start === 0) jsonBytes = 0;
    jsonBytes += body.length;
    if (relisting && end >= count) duringRelist = heap() - baseline;
    return JSON.parse(body);
  },
  async get(_resource, _namespace, name) {
    return JSON.parse(podJson(Number.parseInt(name.split('-').at(-1), 36), '1', 'Running'));
  },
  async delete() {},
  async watch(_resource, _namespace, options) {
    return {
      async *[Symbol.asyncIterator]() {
        const event = await new Promise((resolve, reject) => {
          expire = () =>
            resolve({
              type: 'ERROR',
              object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' },
            });
          options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
        });
        yield event;
      },
    };
  },
};

baseline = heap();
// One wait holds the namespace-wide watch (sharedWatchThreshold 1) and keeps nothing of its own; the
// pod stays Running, so the wait goes on through the relist. (watchPodChanges would be the wrong
// holder: its queue keeps the newest whole pod of every change its consumer has not taken, by design.)
const storage = createPodStorage(transport, { pageSize, sharedWatchThreshold: 1 });
const pending = storage
  .waitForPhase('worker-7f9c8d6b5-00000', 'default', 3_600_000, { untilNot: ['Running'] })
  .catch(() => {});
const until = async (condition) => {
  for (let turn = 0; !condition(); turn += 1) {
    if (turn > 1_000_000) throw new Error('the watch did not get there');
    await new Promise((resolve) => setImmediate(resolve));
  }
};
await until(() => storage.counters().watchesOpened >= 1);
const held = heap() - baseline;
const listedJson = jsonBytes;

// A relist (after 410) of the same pods at new versions: every pod changed.
listVersion += 1;
relisting = true;
expire();
await until(() => storage.counters().watchesOpened >= 2);
const afterRelist = heap() - baseline;
console.log(
  JSON.stringify({
    pods: count,
    listedJsonBytes: listedJson,
    heldBytes: held,
    duringRelistBytes: duringRelist,
    afterRelistBytes: afterRelist,
    perPodBytes: Math.round(held / count),
  }),
);
await storage.close();
await pending;
