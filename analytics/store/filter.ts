/**
 * The WHERE clause of a Request Logs page, shared by both stores: each supplies its placeholder syntax
 * (`?` for SQLite, `$n` for PostgreSQL). The clause shape depends only on which filters are set, so a
 * store can cache one prepared statement per shape.
 */
import { type CursorPosition, decodeCursor } from './cursor.ts';
import type { RequestFilter } from './store.ts';

/** The most rows one page may ask for. */
export const MAX_PAGE_LIMIT = 1000;

export interface RequestsQuery<B = number> {
  /** Identifies the clause's shape (which filters are set); equal shapes have equal SQL. */
  shape: string;
  where: string;
  params: (string | number | B)[];
  /** Rows to fetch: one more than the page, to know whether a next page exists. */
  fetch: number;
}

/** Filters that are one column's equality; a filter's position here is its letter in a clause's shape. */
const EQUALS: readonly [keyof RequestFilter, string][] = [
  ['logicalModel', 'logical_model'],
  ['resolvedModel', 'resolved_model'],
  ['keyId', 'key_id'],
  ['routeConfig', 'route_config'],
  ['routeEntry', 'route_entry'],
  ['backend', 'backend'],
  ['provider', 'provider'],
  ['decision', 'decision'],
  ['errorCode', 'error_code'],
  ['sessionHash', 'session_hash'],
  ['status', 'status'],
  ['stream', 'stream'],
  ['cancelled', 'cancelled'],
];
const SHAPE_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export function checkLimit(limit: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max)
    throw new RangeError(`limit (${limit}) must be an integer from 1 to ${max}`);
}

/**
 * `placeholder` gives the store's parameter syntax; `bool` its boolean parameter (SQLite keeps 0/1 in
 * INTEGER columns, PostgreSQL has a boolean type).
 */
export function requestsQuery<B = number>(
  filter: RequestFilter,
  limit: number,
  cursor: string | undefined,
  placeholder: (index: number) => string,
  bool: (value: boolean) => B | number = (value) => (value ? 1 : 0),
): RequestsQuery<B> {
  checkLimit(limit, MAX_PAGE_LIMIT);
  const position: CursorPosition | undefined = cursor === undefined ? undefined : decodeCursor(cursor);
  const conditions: string[] = [];
  const params: (string | number | B)[] = [];
  const param = (value: string | number | B) => {
    params.push(value);
    return placeholder(params.length);
  };
  let shape = '';
  for (let i = 0; i < EQUALS.length; i++) {
    const [field, column] = EQUALS[i]!;
    const value = filter[field];
    if (value === undefined) continue;
    conditions.push(`${column} = ${param(typeof value === 'boolean' ? bool(value) : value)}`);
    shape += SHAPE_LETTERS[i];
  }
  if (filter.since !== undefined) {
    conditions.push(`time >= ${param(filter.since)}`);
    shape += 'S';
  }
  if (filter.until !== undefined) {
    conditions.push(`time < ${param(filter.until)}`);
    shape += 'U';
  }
  if (position !== undefined) {
    conditions.push(`(time, id) < (${param(position.time)}, ${param(position.id)})`);
    shape += 'C';
  }
  return {
    shape,
    where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`,
    params,
    fetch: limit + 1,
  };
}
