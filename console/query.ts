/**
 * Query parameters of the console API, checked strictly: a name the endpoint does not take, a value
 * given twice, or a value out of shape is a 400 that names the parameter, so a typo (`logicalmodel=`)
 * is an error instead of a silently unfiltered answer. An empty value (`status=`) counts as absent, so
 * a URL template with an unset placeholder still works.
 *
 * Times are epoch milliseconds (`1767225600000`), RFC 3339 date-times with a zone
 * (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00.5+01:00`), or a duration before now (`30m`, `6h`, `7d`),
 * which is what an Argo Rollouts or Flagger analysis that runs every few minutes wants. Intervals are
 * durations in whole minutes (`1m`, `15m`, `1h`, `1d`).
 */
import { consoleErrors } from './errors.ts';

const MINUTE_MS = 60_000;
const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: MINUTE_MS,
  h: 60 * MINUTE_MS,
  d: 24 * 60 * MINUTE_MS,
};
const EPOCH_MS = /^\d{1,15}$/;
const DURATION = /^(\d{1,9})(s|m|h|d)$/;
// RFC 3339 section 5.6 date-time: a zone is required, `T` may be lower case or a space (its note).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export class Query {
  readonly #values = new Map<string, string>();

  /** RangeError-free: every problem is a ConsoleError (400) naming the parameter. */
  constructor(params: URLSearchParams, allowed: readonly string[]) {
    for (const [name, value] of params) {
      if (!allowed.includes(name)) throw consoleErrors.unknownParameter(name, allowed);
      if (this.#values.has(name)) throw consoleErrors.repeatedParameter(name);
      this.#values.set(name, value);
    }
  }

  string(name: string): string | undefined {
    const value = this.#values.get(name);
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = /^-?\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw consoleErrors.invalidParameter(
        name,
        `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}.`,
      );
    return value;
  }

  /** `true` or `false`. */
  boolean(name: string): boolean | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw consoleErrors.invalidParameter(name, `${name} must be true or false, got ${JSON.stringify(text)}.`);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!(values as readonly string[]).includes(text))
      throw consoleErrors.invalidParameter(
        name,
        `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(text)}.`,
      );
    return text as T;
  }

  /** A comma-separated list whose items are each one of `values`. */
  listOf<T extends string>(name: string, values: readonly T[]): T[] | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const items = text.split(',').map((s) => s.trim());
    for (const item of items)
      if (!(values as readonly string[]).includes(item))
        throw consoleErrors.invalidParameter(
          name,
          `${name} lists ${JSON.stringify(item)}; each item must be one of ${values.join(', ')}.`,
        );
    return items as T[];
  }

  /** Epoch milliseconds, RFC 3339, or a duration before `now`; see the module comment. */
  time(name: string, now: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const time = parseTime(text, now);
    if (time === undefined)
      throw consoleErrors.invalidParameter(
        name,
        `${name} must be epoch milliseconds (1767225600000), an RFC 3339 date-time with a zone (2026-01-01T00:00:00Z) or a duration before now (30m, 6h, 7d); got ${JSON.stringify(text)}.`,
      );
    return time;
  }

  /** A duration in whole minutes, in milliseconds. */
  interval(name: string): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0 || ms % MINUTE_MS !== 0)
      throw consoleErrors.invalidParameter(
        name,
        `${name} must be a duration in whole minutes such as 1m, 15m, 1h or 1d; got ${JSON.stringify(text)}.`,
      );
    return ms;
  }
}

/** `30m` → 1,800,000; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m === null ? undefined : Number(m[1]) * UNIT_MS[m[2]!]!;
}

export function parseTime(text: string, now: number): number | undefined {
  if (EPOCH_MS.test(text)) return Number(text);
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  // Date.parse accepts more than RFC 3339 and rolls over impossible dates (02-30): check the fields too.
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 60)
    return undefined;
  const iso = text.replace(' ', 'T').replace('t', 'T').replace('z', 'Z');
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return undefined;
  const probe = new Date(Date.UTC(Number(m[1]), month! - 1, day!));
  return probe.getUTCDate() === day ? time : undefined;
}
