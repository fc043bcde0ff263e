import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential (token, password, private key) that must never reach a log line or an error message:
 * printing, string conversion, `JSON.stringify` and `util.inspect` all show `[redacted]`. Only
 * `reveal()` gives the value, at the moment it goes on the wire.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself, for the request that needs it. */
  reveal(): string {
    return this.#value;
  }

  /** `[redacted]`, never the value. */
  toString(): string {
    return REDACTED;
  }

  /** `[redacted]`, never the value. */
  toJSON(): string {
    return REDACTED;
  }

  /** `[redacted]` in `console.log` and `util.inspect`. */
  [inspect.custom](): string {
    return REDACTED;
  }
}
