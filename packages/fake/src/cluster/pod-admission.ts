// What the apiserver does to a pod between decoding and storing it: defaults
// (pkg/apis/core/v1/defaults.go SetDefaults_PodSpec, SetDefaults_Container), the admission plugins every
// cluster runs (ServiceAccount, DefaultTolerationSeconds, Priority), and validation
// (pkg/apis/core/validation/validation.go ValidatePodCreate, ValidatePodSpec, ValidatePodUpdate).
import type { Pod } from '@podstorage/core';
import { labelProblem } from '../names.js';
import type { MutablePod } from '../object-store.js';
import { invalid, type StatusCause } from '../status.js';

type MutableContainer = NonNullable<NonNullable<MutablePod['spec']>['containers']>[number];

/** `latest` or no tag (and no digest): Always; any other tag or a digest: IfNotPresent. */
function pullPolicyFor(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  const tag = colon === -1 ? '' : lastPart.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: MutableContainer): void {
  container.imagePullPolicy ??= pullPolicyFor(container.image);
  container.terminationMessagePath ||= '/dev/termination-log';
  container.terminationMessagePolicy ||= 'File';
  for (const port of container.ports ?? []) port.protocol ||= 'TCP';
}

/** The not-ready and unreachable NoExecute tolerations the DefaultTolerationSeconds plugin adds. */
const DEFAULT_TOLERATED_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/**
 * Applies the apiserver's defaults and the default admission plugins to a pod being created, in
 * place: restartPolicy Always, dnsPolicy ClusterFirst, schedulerName default-scheduler, an empty
 * securityContext, terminationGracePeriodSeconds 30, enableServiceLinks, per container the
 * imagePullPolicy from the tag and the termination message path and policy; serviceAccountName (and
 * its deprecated twin serviceAccount) `default`; the 300 s not-ready/unreachable tolerations; priority 0
 * and preemptionPolicy PreemptLowerPriority (no PriorityClass is served).
 */
export function defaultPodForCreate(pod: MutablePod): void {
  defaultPodSpec(pod);
  const spec = pod.spec as NonNullable<MutablePod['spec']>;
  spec.serviceAccountName ||= spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const tolerations = spec.tolerations ?? [];
  for (const key of DEFAULT_TOLERATED_TAINTS) {
    const tolerated = tolerations.some(
      (toleration) =>
        (toleration.key === key || (toleration.key ?? '') === '') &&
        (toleration.effect === 'NoExecute' || (toleration.effect ?? '') === '') &&
        (toleration.operator === 'Exists' || toleration.key === key),
    );
    if (!tolerated)
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
}

/** The decoder's defaults alone (SetDefaults_PodSpec and per container), as a PUT or patch gets them. */
export function defaultPodSpec(pod: MutablePod): void {
  pod.spec ??= { containers: [] };
  const spec = pod.spec;
  spec.restartPolicy ||= 'Always';
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.schedulerName ||= 'default-scheduler';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.enableServiceLinks ??= true;
  for (const container of spec.containers ?? []) defaultContainer(container);
  for (const container of spec.initContainers ?? []) defaultContainer(container as MutableContainer);
}

function containerProblems(
  containers: readonly MutableContainer[] | undefined,
  path: string,
  names: Set<string>,
): StatusCause[] {
  const problems: StatusCause[] = [];
  (containers ?? []).forEach((container, index) => {
    const at = `${path}[${index}]`;
    if (!container.name) {
      problems.push({ reason: 'FieldValueRequired', field: `${at}.name`, message: 'Required value' });
    } else {
      const problem = labelProblem(container.name, `${at}.name`);
      if (problem) problems.push(problem);
      else if (names.has(container.name)) {
        problems.push({
          reason: 'FieldValueDuplicate',
          field: `${at}.name`,
          message: `Duplicate value: "${container.name}"`,
        });
      }
      names.add(container.name);
    }
    if (!container.image || container.image.trim() !== container.image) {
      problems.push(
        container.image
          ? {
              reason: 'FieldValueInvalid',
              field: `${at}.image`,
              message: `Invalid value: "${container.image}": must not have leading or trailing whitespace`,
            }
          : { reason: 'FieldValueRequired', field: `${at}.image`, message: 'Required value' },
      );
    }
    const policy = container.imagePullPolicy;
    if (policy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(policy)) {
      problems.push({
        reason: 'FieldValueNotSupported',
        field: `${at}.imagePullPolicy`,
        message: `Unsupported value: "${policy}": supported values: "Always", "IfNotPresent", "Never"`,
      });
    }
  });
  return problems;
}

/** ValidatePodSpec's checks for the fields the fake keeps: containers, names, images, policies. */
function specProblems(pod: MutablePod): StatusCause[] {
  const spec: NonNullable<MutablePod['spec']> = pod.spec ?? { containers: [] };
  const problems: StatusCause[] = [];
  const names = new Set<string>();
  if ((spec.containers ?? []).length === 0) {
    problems.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
  }
  problems.push(
    ...containerProblems(spec.initContainers as MutableContainer[], 'spec.initContainers', names),
  );
  problems.push(...containerProblems(spec.containers, 'spec.containers', names));
  const restart = spec.restartPolicy;
  if (restart !== undefined && !['Always', 'OnFailure', 'Never'].includes(restart)) {
    problems.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.restartPolicy',
      message: `Unsupported value: "${restart}": supported values: "Always", "OnFailure", "Never"`,
    });
  }
  const dns = spec.dnsPolicy;
  if (dns !== undefined && !['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'].includes(dns)) {
    problems.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.dnsPolicy',
      message: `Unsupported value: "${dns}": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`,
    });
  }
  return problems;
}

/** 422 Invalid (kind Pod, one cause per problem) unless the pod is valid to create. */
export function validatePodCreate(pod: MutablePod, name: string): void {
  const problems = specProblems(pod);
  if (problems.length > 0) throw invalid('Pod', name, problems);
}

const MUTABLE_FIELDS_MESSAGE =
  'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * ValidatePodUpdate: besides the create checks, only container images, activeDeadlineSeconds, added
 * tolerations, removed scheduling gates and a negative grace period set to 1 may change in `spec`.
 * Anything else is 422 with the apiserver's `spec: Forbidden: pod updates may not change ...`.
 */
export function validatePodUpdate(next: MutablePod, existing: Pod, name: string): void {
  const problems = specProblems(next);
  if (problems.length > 0) throw invalid('Pod', name, problems);
  const before = structuredClone(existing.spec ?? {}) as NonNullable<MutablePod['spec']>;
  const after = structuredClone(next.spec ?? {}) as NonNullable<MutablePod['spec']>;
  // Put what may change back to its old value; what still differs was changed illegally.
  const images = (
    from: readonly { name: string; image?: string }[] | undefined,
    to: { name: string; image?: string }[] | undefined,
  ) => {
    (to ?? []).forEach((container, index) => {
      const old = from?.[index];
      if (old !== undefined && old.name === container.name) container.image = old.image;
    });
  };
  images(before.containers, after.containers);
  images(before.initContainers, after.initContainers);
  after.activeDeadlineSeconds = before.activeDeadlineSeconds;
  if (after.activeDeadlineSeconds === undefined) delete after.activeDeadlineSeconds;
  const oldTolerations = before.tolerations ?? [];
  const keeps = oldTolerations.every((old) =>
    (after.tolerations ?? []).some((toleration) => JSON.stringify(toleration) === JSON.stringify(old)),
  );
  if (keeps) after.tolerations = before.tolerations;
  if (keeps && after.tolerations === undefined) delete after.tolerations;
  const gates = after.schedulingGates ?? [];
  if (gates.length < (before.schedulingGates ?? []).length) after.schedulingGates = before.schedulingGates;
  if ((before.terminationGracePeriodSeconds ?? 0) < 0 && after.terminationGracePeriodSeconds === 1)
    after.terminationGracePeriodSeconds = before.terminationGracePeriodSeconds;
  if (!sameJson(before, after)) {
    throw invalid('Pod', name, [
      { reason: 'FieldValueForbidden', field: 'spec', message: MUTABLE_FIELDS_MESSAGE },
    ]);
  }
}

/** Deep equality of JSON values, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  const left = Object.entries(a).filter(([, value]) => value !== undefined);
  const right = Object.entries(b).filter(([, value]) => value !== undefined);
  return (
    left.length === right.length &&
    left.every(([key, value]) => sameJson(value, (b as Record<string, unknown>)[key]))
  );
}
