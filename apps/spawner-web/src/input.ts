// Input validation: what the page (or anyone) may send the spawner.
import { validatePodName } from '@podstorage/core';
import { HttpError } from './http.js';

/** The longest run the page may ask for, in seconds. */
export const MAX_RUN_SECONDS = 3_600;
/** The run time of a pod when the page asks for none, in seconds. */
export const DEFAULT_RUN_SECONDS = 5;

/** A start request, validated. */
export interface StartRequest {
  /** The image asked for; `undefined` for the spawner's default. */
  readonly image: string | undefined;
  readonly seconds: number;
  readonly deleteWhenFinished: boolean;
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
  if (body.deleteWhenFinished !== undefined && typeof body.deleteWhenFinished !== 'boolean') {
    throw new HttpError(400, 'deleteWhenFinished must be true or false');
  }
  return { image, seconds: seconds as number, deleteWhenFinished: body.deleteWhenFinished === true };
}

/** Checks a pod name from a path; a 400 naming it otherwise. */
export function checkName(name: string): void {
  try {
    validatePodName(name);
  } catch (error) {
    throw new HttpError(400, error instanceof Error ? error.message : String(error));
  }
}

/** Checks an image reference; a 400 naming it otherwise. */
export function validateImage(image: unknown): asserts image is string {
  if (typeof image !== 'string' || image.length === 0 || image.length > 512 || /\s/.test(image)) {
    throw new HttpError(
      400,
      `invalid image ${JSON.stringify(image)}: a non-empty image reference without spaces`,
    );
  }
}
