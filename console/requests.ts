/**
 * GET /api/v1/requests: Request Logs, the records as the store keeps them (analytics/record.ts), newest
 * first, `limit` a page, `nextCursor` for the next page (absent on the last). Filters are exact matches
 * of record fields (TEXT_FILTERS, `status`, `stream`, `cancelled`) and a [since, until) time range. A record names the caller
 * by APIKey id and the session by a keyed hash: nothing in the answer is a key or a raw session id.
 */
import { decodeCursor } from '../analytics/store/cursor.ts';
import { MAX_PAGE_LIMIT } from '../analytics/store/filter.ts';
import type { RequestFilter, RequestPage, RequestStore } from '../analytics/store/store.ts';
import { consoleErrors } from './errors.ts';
import { Query } from './query.ts';

export const DEFAULT_REQUESTS_LIMIT = 100;

/** The exact-match text filters, by the record field they compare. */
const TEXT_FILTERS = [
  'logicalModel',
  'resolvedModel',
  'keyId',
  'routeConfig',
  'routeEntry',
  'backend',
  'provider',
  'decision',
  'errorCode',
  'sessionHash',
] as const satisfies readonly (keyof RequestFilter)[];

const PARAMS = [
  ...TEXT_FILTERS,
  'status',
  'stream',
  'cancelled',
  'since',
  'until',
  'limit',
  'cursor',
] as const;

export interface RequestsAnswer {
  data: RequestPage['data'];
  nextCursor: string | null;
}

export async function requestsEndpoint(
  store: RequestStore,
  params: URLSearchParams,
  now: number,
): Promise<RequestsAnswer> {
  const q = new Query(params, PARAMS);
  const filter: RequestFilter = {};
  for (const name of TEXT_FILTERS) {
    const value = q.string(name);
    if (value !== undefined) filter[name] = value;
  }
  // 0: the gateway never answered (no response headers), as the record writes it.
  const status = q.integer('status', 0, 599);
  const stream = q.boolean('stream');
  const cancelled = q.boolean('cancelled');
  const since = q.time('since', now);
  const until = q.time('until', now);
  if (status !== undefined) filter.status = status;
  if (stream !== undefined) filter.stream = stream;
  if (cancelled !== undefined) filter.cancelled = cancelled;
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (since !== undefined && until !== undefined && since >= until)
    throw consoleErrors.invalidParameter('until', 'until must be after since.');
  const limit = q.integer('limit', 1, MAX_PAGE_LIMIT) ?? DEFAULT_REQUESTS_LIMIT;
  const cursor = q.string('cursor');
  if (cursor !== undefined) {
    try {
      decodeCursor(cursor);
    } catch {
      throw consoleErrors.invalidParameter('cursor', 'cursor must be the nextCursor of a previous page.');
    }
  }
  const page = await store.requests(filter, limit, cursor);
  return { data: page.data, nextCursor: page.nextCursor ?? null };
}
