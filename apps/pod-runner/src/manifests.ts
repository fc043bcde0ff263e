import { readFile } from 'node:fs/promises';
import { type Pod, validatePodName } from '@podstorage/core';
import { parseAllDocuments } from 'yaml';

/** A manifest the runner cannot use; the message names the file and the problem. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

/**
 * Reads pods from a YAML (one or many documents) or JSON file; a `kind: List` or `PodList` contributes
 * its items. Everything must be a v1 Pod with a valid name (or generateName): the runner checks all of
 * it before creating anything.
 */
export async function readPodManifests(path: string): Promise<Pod[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ManifestError(
      `cannot read manifest ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? error)}`,
    );
  }
  const pods: Pod[] = [];
  const documents = parseAllDocuments(text);
  for (const [index, document] of documents.entries()) {
    const where = documents.length > 1 ? `${path} (document ${index + 1})` : path;
    if (document.errors.length > 0) {
      throw new ManifestError(
        `${where} is not valid YAML or JSON: ${document.errors[0]?.message.split('\n')[0]}`,
      );
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    for (const item of listItems(value)) pods.push(checkPod(item, where));
  }
  if (pods.length === 0) throw new ManifestError(`${path} holds no pod`);
  return pods;
}

function listItems(value: unknown): unknown[] {
  const record = value as { kind?: unknown; items?: unknown };
  if ((record.kind === 'List' || record.kind === 'PodList') && Array.isArray(record.items))
    return record.items;
  return [value];
}

/** Checks that `value` is a Pod the runner can create, and names the problem when it is not. */
export function checkPod(value: unknown, where: string): Pod {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError(
      `${where}: expected a Pod object, found ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  const pod = value as Pod;
  if (pod.kind !== 'Pod')
    throw new ManifestError(`${where}: expected kind Pod, found ${pod.kind ?? 'no kind'}`);
  if (pod.apiVersion !== undefined && pod.apiVersion !== 'v1') {
    throw new ManifestError(`${where}: expected apiVersion v1 for a Pod, found ${pod.apiVersion}`);
  }
  const name = pod.metadata?.name;
  const generateName = pod.metadata?.generateName;
  if (name === undefined && generateName === undefined) {
    throw new ManifestError(`${where}: the pod has neither metadata.name nor metadata.generateName`);
  }
  try {
    validatePodName(name ?? `${generateName}x`);
  } catch (error) {
    throw new ManifestError(`${where}: ${(error as Error).message}`);
  }
  if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) {
    throw new ManifestError(`${where}: pod ${name ?? generateName} has no spec.containers`);
  }
  return pod;
}
