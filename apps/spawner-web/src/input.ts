// Input validation: what the page (or anyone) may send the spawner.
import { validatePodName } from '@podstorage/core';
import { parseFamiliarName } from '@swimlane/docker-reference';
import { HttpError } from './http.js';

/** The longest run the page may ask for, in seconds. */
export const MAX_RUN_SECONDS = 3_600;
/** The run time of a pod when the page asks for none, in seconds. */
export const DEFAULT_RUN_SECONDS = 5;

/** The restart policies a pod may have (`spec.restartPolicy`). */
export const RESTART_POLICIES = ['Never', 'OnFailure', 'Always'] as const;

/** One of {@link RESTART_POLICIES}. */
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** A start request, validated. */
export interface StartRequest {
  /** The image asked for; `undefined` for the spawner's default. */
  readonly image: string | undefined;
  readonly seconds: number;
  /** The code the container exits with after its run (0 to 255). Default 0. */
  readonly exitCode: number;
  /**
   * What the kubelet does when the container exits. Default `Never`; `Always` (or `OnFailure` with a
   * non-zero exit code) restarts it, with the kubelet's crash-loop back-off.
   */
  readonly restartPolicy: RestartPolicy;
  readonly deleteWhenFinished: boolean;
  /** The page (browser tab) asking: one live pod per session. */
  readonly session: string | undefined;
}

/** Checks the body of `POST /api/pods`; a 400 naming the bad value otherwise. */
export function parseStartRequest(body: Record<string, unknown>): StartRequest {
  const image = body.image === undefined || body.image === '' ? undefined : body.image;
  if (image !== undefined) validateImage(image);
  const seconds = body.seconds ?? DEFAULT_RUN_SECONDS;
  if (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > MAX_RUN_SECONDS) {
    throw new HttpError(
      400,
      `seconds must be a whole number from 1 to ${MAX_RUN_SECONDS}, got ${JSON.stringify(seconds)}`,
    );
  }
  const exitCode = body.exitCode ?? 0;
  if (!Number.isInteger(exitCode) || (exitCode as number) < 0 || (exitCode as number) > 255) {
    throw new HttpError(
      400,
      `exitCode must be a whole number from 0 to 255 (a process's exit status), got ${JSON.stringify(exitCode)}`,
    );
  }
  const restartPolicy = body.restartPolicy ?? 'Never';
  if (!RESTART_POLICIES.includes(restartPolicy as RestartPolicy)) {
    throw new HttpError(
      400,
      `restartPolicy must be one of ${RESTART_POLICIES.join(', ')}, got ${JSON.stringify(restartPolicy)}`,
    );
  }
  if (body.deleteWhenFinished !== undefined && typeof body.deleteWhenFinished !== 'boolean') {
    throw new HttpError(400, 'deleteWhenFinished must be true or false');
  }
  return {
    image,
    seconds: seconds as number,
    exitCode: exitCode as number,
    restartPolicy: restartPolicy as RestartPolicy,
    deleteWhenFinished: body.deleteWhenFinished === true,
    session: validateSession(body.session),
  };
}

/** Checks a pod name from a path; a 400 naming it otherwise. */
export function checkName(name: string): void {
  try {
    validatePodName(name);
  } catch (error) {
    throw new HttpError(400, error instanceof Error ? error.message : String(error));
  }
}

/**
 * Checks an image reference against the grammar of distribution's reference package
 * (`[registry[:port]/]path[:tag][@digest]`, lower-case path components, at most 255 characters of
 * name), as the kubelet parses images (`ParseNormalizedNamed`); a 400 naming it otherwise.
 */
export function validateImage(image: unknown): asserts image is string {
  const shown = JSON.stringify(image);
  if (typeof image !== 'string' || image === '') {
    throw new HttpError(400, `invalid image ${shown}: give an image reference, such as busybox:1.36`);
  }
  if (/\s/.test(image)) {
    throw new HttpError(400, `invalid image ${shown}: an image reference has no spaces`);
  }
  try {
    parseFamiliarName(image);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(
      400,
      `invalid image ${shown}: ${reason} (an image reference is [registry/]name[:tag][@digest], such as busybox:1.36 or ghcr.io/org/app:v1)`,
    );
  }
}

/** Checks the page's session id: letters, digits, `-` and `_`, 8 to 64 of them; a 400 otherwise. */
export function validateSession(session: unknown): string | undefined {
  if (session === undefined) return undefined;
  if (typeof session !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(session)) {
    throw new HttpError(
      400,
      `invalid session ${JSON.stringify(session)}: 8 to 64 letters, digits, "-" or "_"`,
    );
  }
  return session;
}
