import type { FieldSelector } from '@podstorage/core';
import {
  checkSelectableFields,
  type StoredObject,
  type StoredResource,
  selectableFields,
} from '../object-store.js';
import {
  type FieldRequirement,
  type LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../selectors.js';
import { badRequest, statusError } from '../status.js';

/** What a list or watch selects: a namespace (or all), field and label requirements. */
export interface Matcher {
  readonly namespace: string | undefined;
  readonly fields: readonly FieldRequirement[];
  readonly labels: readonly LabelRequirement[];
}

/** Parses a list's or watch's selectors; throws the apiserver's 400 for unsupported fields. */
export function matcherFor(
  resource: StoredResource,
  namespace: string | undefined,
  query: { fieldSelector?: string | FieldSelector; labelSelector?: string },
): Matcher {
  const fields = parseFieldSelector(query.fieldSelector);
  const text =
    typeof query.fieldSelector === 'string' ? query.fieldSelector : JSON.stringify(query.fieldSelector ?? {});
  checkSelectableFields(
    resource,
    fields.map((requirement) => requirement.field),
    text,
  );
  return { namespace: namespace || undefined, fields, labels: parseLabelSelector(query.labelSelector) };
}

/** Whether an object is in a matcher's namespace and satisfies its selectors. */
export function matches(matcher: Matcher, resource: StoredResource, object: StoredObject): boolean {
  if (matcher.namespace !== undefined && object.metadata?.namespace !== matcher.namespace) return false;
  return (
    matchesFields(matcher.fields, selectableFields(resource, object)) &&
    matchesLabels(matcher.labels, object.metadata?.labels)
  );
}

/** A resourceVersion parameter as a number; 400 for anything but digits. */
export function parseResourceVersion(value: string, parameter = 'resourceVersion'): number {
  if (!/^\d+$/.test(value))
    throw badRequest(`${parameter}: Invalid value: "${value}": must be a resource version`);
  return Number(value);
}

/** The apiserver's 422 for list options that contradict each other. */
export function listOptionsInvalid(field: string, message: string): never {
  throw statusError(422, `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    kind: 'ListOptions',
    group: 'meta.k8s.io',
    causes: [{ reason: 'FieldValueForbidden', field, message }],
  });
}
