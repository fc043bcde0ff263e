import type { StatusCause } from './status.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The API server's complaint about a name that is not an RFC 1123 subdomain, or `undefined` if valid. */
export function subdomainProblem(name: string, field = 'metadata.name'): StatusCause | undefined {
  if (name.length > 253) {
    return {
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: "${name}": must be no more than 253 characters`,
    };
  }
  if (!DNS_SUBDOMAIN.test(name)) {
    return {
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    };
  }
  return undefined;
}

/** The API server's complaint about a name that is not an RFC 1123 label, or `undefined` if valid. */
export function labelProblem(name: string, field = 'metadata.name'): StatusCause | undefined {
  if (name.length > 63) {
    return {
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: "${name}": must be no more than 63 characters`,
    };
  }
  if (!DNS_LABEL.test(name)) {
    return {
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    };
  }
  return undefined;
}

// The alphabet of generateName suffixes: no vowels, no confusable characters (utilrand.String).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A small seeded generator (mulberry32), so generated names are the same on every run of a test.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let value = this.#state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** The 5-character suffix the API server appends to `generateName`. */
  nameSuffix(): string {
    let suffix = '';
    for (let index = 0; index < 5; index++) {
      suffix += SUFFIX_ALPHABET[Math.floor(this.next() * SUFFIX_ALPHABET.length)];
    }
    return suffix;
  }
}

/** `generateName` plus suffix, with the prefix cut so the result fits 63 characters as the server does. */
export function generatedName(prefix: string, suffix: string): string {
  const maxPrefix = 63 - suffix.length;
  return `${prefix.length > maxPrefix ? prefix.slice(0, maxPrefix) : prefix}${suffix}`;
}
