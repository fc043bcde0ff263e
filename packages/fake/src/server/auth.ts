import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Status } from '@podstorage/core';
import { failureStatus } from '../status.js';

/**
 * Checks the bearer token of a request. Returns `undefined` when the request may pass (no token is
 * configured, or it carries the right one), else the 401 Status the apiserver answers.
 */
export function checkBearerToken(request: IncomingMessage, token: string | undefined): Status | undefined {
  if (token === undefined) return undefined;
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  const given = Buffer.from(match?.[1] ?? '');
  const expected = Buffer.from(token);
  // Compare in constant time so the token cannot be guessed byte by byte from response times.
  if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  return failureStatus(401, 'Unauthorized', {}, 'Unauthorized');
}
