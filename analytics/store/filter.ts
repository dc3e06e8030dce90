/**
 * The WHERE clause of a Request Logs page, shared by both stores: each supplies its placeholder syntax
 * (`?` for SQLite, `$n` for PostgreSQL). The clause shape depends only on which filters are set, so a
 * store can cache one prepared statement per shape.
 */
import { type CursorPosition, decodeCursor } from './cursor.ts';
import type { RequestFilter } from './store.ts';

/** The most rows one page may ask for. */
export const MAX_PAGE_LIMIT = 1000;

export interface RequestsQuery {
  /** Identifies the clause's shape (which filters are set); equal shapes have equal SQL. */
  shape: string;
  where: string;
  params: (string | number)[];
  /** Rows to fetch: one more than the page, to know whether a next page exists. */
  fetch: number;
}

const EQUALS: readonly [keyof RequestFilter, string][] = [
  ['logicalModel', 'logical_model'],
  ['resolvedModel', 'resolved_model'],
  ['keyId', 'key_id'],
  ['status', 'status'],
];

export function checkLimit(limit: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max)
    throw new RangeError(`limit (${limit}) must be an integer from 1 to ${max}`);
}

export function requestsQuery(
  filter: RequestFilter,
  limit: number,
  cursor: string | undefined,
  placeholder: (index: number) => string,
): RequestsQuery {
  checkLimit(limit, MAX_PAGE_LIMIT);
  const position: CursorPosition | undefined = cursor === undefined ? undefined : decodeCursor(cursor);
  const conditions: string[] = [];
  const params: (string | number)[] = [];
  const param = (value: string | number) => {
    params.push(value);
    return placeholder(params.length);
  };
  let shape = '';
  for (const [field, column] of EQUALS) {
    const value = filter[field];
    if (value === undefined) continue;
    conditions.push(`${column} = ${param(value)}`);
    shape += field[0];
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
