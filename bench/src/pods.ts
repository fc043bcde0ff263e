// Pods as a busy cluster serves them: labels, annotations, owner reference, two containers, a full
// status and the managedFields the apiserver adds (which are often a third of a pod's bytes).
import type { Pod } from '@podstorage/core';

/** The name of the pod number `index` (sortable, so lists and logs read in order). */
export function podName(index: number): string {
  return `worker-${index.toString().padStart(6, '0')}`;
}

const TIME = '2026-12-01T10:00:00Z';

function managedFields(): NonNullable<Pod['metadata']>['managedFields'] {
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'v1',
      time: TIME,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': {
          'f:generateName': {},
          'f:labels': { '.': {}, 'f:app': {}, 'f:controller-uid': {}, 'f:job-name': {} },
          'f:ownerReferences': { '.': {}, 'k:{"uid":"9b2f7c1e-0d55-4c0e-9d8c-3a1f7b6e2d10"}': {} },
        },
        'f:spec': {
          'f:containers': {
            'k:{"name":"main"}': {
              '.': {},
              'f:args': {},
              'f:env': { '.': {}, 'k:{"name":"QUEUE_URL"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
              'f:image': {},
              'f:imagePullPolicy': {},
              'f:name': {},
              'f:resources': { '.': {}, 'f:limits': {}, 'f:requests': {} },
              'f:terminationMessagePath': {},
              'f:terminationMessagePolicy': {},
              'f:volumeMounts': {},
            },
            'k:{"name":"sidecar"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:resources': {} },
          },
          'f:dnsPolicy': {},
          'f:enableServiceLinks': {},
          'f:restartPolicy': {},
          'f:schedulerName': {},
          'f:securityContext': {},
          'f:terminationGracePeriodSeconds': {},
          'f:volumes': { '.': {}, 'k:{"name":"scratch"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } },
        },
      },
    },
    {
      manager: 'kubelet',
      operation: 'Update',
      apiVersion: 'v1',
      time: TIME,
      fieldsType: 'FieldsV1',
      subresource: 'status',
      fieldsV1: {
        'f:status': {
          'f:conditions': {
            'k:{"type":"ContainersReady"}': {
              '.': {},
              'f:lastTransitionTime': {},
              'f:status': {},
              'f:type': {},
            },
            'k:{"type":"Initialized"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} },
            'k:{"type":"Ready"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} },
          },
          'f:containerStatuses': {},
          'f:hostIP': {},
          'f:phase': {},
          'f:podIP': {},
          'f:podIPs': { '.': {}, 'k:{"ip":"10.244.1.17"}': { '.': {}, 'f:ip': {} } },
          'f:startTime': {},
        },
      },
    },
  ];
}

/**
 * A pod as a Job controller creates it, in `namespace`. With `status`, also what the kubelet reports
 * for a running pod (the fake cluster sets its own status on create, so servers of it leave it out).
 */
export function realisticPod(index: number, namespace: string, options: { status?: boolean } = {}): Pod {
  const name = podName(index);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      generateName: 'worker-',
      labels: {
        app: 'batch-worker',
        'controller-uid': '9b2f7c1e-0d55-4c0e-9d8c-3a1f7b6e2d10',
        'job-name': `run-${index % 97}`,
      },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          spec: { image: 'registry.example/worker:1.24.3' },
        }),
        'prometheus.io/scrape': 'true',
      },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: `run-${index % 97}`,
          uid: '9b2f7c1e-0d55-4c0e-9d8c-3a1f7b6e2d10',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: managedFields(),
    },
    spec: {
      restartPolicy: 'Never',
      nodeName: `node-${index % 50}`,
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      containers: [
        {
          name: 'main',
          image: 'registry.example/worker:1.24.3',
          imagePullPolicy: 'IfNotPresent',
          args: ['--queue', 'jobs', '--concurrency', '4', '--verbose'],
          env: [
            { name: 'QUEUE_URL', value: 'amqp://queue.example:5672/jobs' },
            { name: 'WORKER_INDEX', value: String(index) },
          ],
          resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
        {
          name: 'sidecar',
          image: 'registry.example/log-shipper:3.1',
          resources: { requests: { cpu: '50m' } },
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  };
  if (!options.status) return pod;
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      uid: `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
      resourceVersion: String(1000 + index),
      creationTimestamp: TIME,
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.0.7',
      podIP: '10.244.1.17',
      podIPs: [{ ip: '10.244.1.17' }],
      startTime: TIME,
      qosClass: 'Burstable',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: TIME,
      })),
      containerStatuses: ['main', 'sidecar'].map((container) => ({
        name: container,
        ready: true,
        restartCount: 0,
        started: true,
        image: `registry.example/${container}:1`,
        imageID: `registry.example/${container}@sha256:${'ab'.repeat(32)}`,
        containerID: `containerd://${'cd'.repeat(32)}`,
        state: { running: { startedAt: TIME } },
        lastState: {},
      })),
    },
  };
}

/** A kubeconfig (YAML) for a plain-HTTP server at `url`, for every client of the benchmark. */
export function kubeconfigFor(url: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: bench, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
    'users: [{name: bench, user: {}}]',
    `contexts: [{name: bench, context: {cluster: bench, user: bench, namespace: ${namespace}}}]`,
    'current-context: bench',
    '',
  ].join('\n');
}
