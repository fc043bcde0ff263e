import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { type Pod, validatePodName } from '@podstorage/core';
import { parseAllDocuments } from 'yaml';

/** A manifest the runner cannot use; the message names the file and the problem. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** A pod read from a manifest, with where it came from (for messages). */
export interface ManifestPod {
  readonly pod: Pod;
  /** `pod.yaml`, `pods.yaml (document 2)`, `stdin`. */
  readonly source: string;
}

// The files kubectl takes from a directory given to -f (kubectl's FileExtensions).
const MANIFEST_EXTENSIONS = ['.json', '.yaml', '.yml'];

/**
 * Reads the pods of `-f` arguments as kubectl does: each is a file, a directory (its `.json`, `.yaml` and
 * `.yml` files, in name order, not recursive) or `-` for standard input (once), and a comma separates
 * several (`-f a.yaml,b.yaml`). Every pod is checked ({@link checkPod}) and names that occur twice are
 * refused, all before anything is created.
 */
export async function readManifestSources(
  sources: readonly string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<ManifestPod[]> {
  const paths = sources.flatMap((source) => source.split(',')).filter((path) => path !== '');
  if (paths.filter((path) => path === '-').length > 1) {
    throw new ManifestError('-f - (standard input) can be given only once');
  }
  const pods: ManifestPod[] = [];
  for (const path of paths) {
    if (path === '-') {
      pods.push(...podsOfText(await text(stdin), 'stdin'));
      continue;
    }
    for (const file of await filesOf(path)) pods.push(...podsOfText(await readManifest(file), file));
  }
  refuseDuplicateNames(pods);
  return pods;
}

async function filesOf(path: string): Promise<string[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw unreadable(path, error);
  }
  if (!isDirectory) return [path];
  const files = (await readdir(path))
    .filter((name) => MANIFEST_EXTENSIONS.some((extension) => name.endsWith(extension)))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) {
    throw new ManifestError(`directory ${path} has no ${MANIFEST_EXTENSIONS.join(', ')} files`);
  }
  return files;
}

async function readManifest(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): ManifestError {
  const code = (error as NodeJS.ErrnoException).code;
  return new ManifestError(
    `cannot read manifest ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
  );
}

/**
 * Reads pods from YAML (one or many documents) or JSON text; a `kind: List` or `PodList` contributes
 * its items. Everything must be a v1 Pod with a valid name (or generateName).
 */
export function podsOfText(manifest: string, path: string): ManifestPod[] {
  const pods: ManifestPod[] = [];
  const documents = parseAllDocuments(manifest);
  for (const [index, document] of documents.entries()) {
    const where = documents.length > 1 ? `${path} (document ${index + 1})` : path;
    if (document.errors.length > 0) {
      throw new ManifestError(
        `${where} is not valid YAML or JSON: ${document.errors[0]?.message.split('\n')[0]}`,
      );
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    for (const item of listItems(value)) pods.push({ pod: checkPod(item, where), source: where });
  }
  if (pods.length === 0) throw new ManifestError(`${path} holds no pod`);
  return pods;
}

function refuseDuplicateNames(pods: readonly ManifestPod[]): void {
  const seen = new Map<string, string>();
  for (const { pod, source } of pods) {
    const name = pod.metadata?.name;
    if (name === undefined) continue;
    // Pods in different namespaces may share a name; the run refuses mixed namespaces elsewhere.
    const key = `${pod.metadata?.namespace ?? ''}/${name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ManifestError(`pod name ${name} is given twice: in ${first} and in ${source}`);
    }
    seen.set(key, source);
  }
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
