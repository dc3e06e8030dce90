import { inspect } from 'node:util';

/**
 * A secret (gateway key, provider key) held so that it cannot leak by accident: it prints, logs and
 * serialises as "[redacted]"; only `reveal()` gives the material, at the one place that must send it.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretValue([redacted])';
  }
}
