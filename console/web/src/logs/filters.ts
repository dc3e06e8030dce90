/**
 * Request Logs filters: what the form holds, the API query it becomes, and the one filter the API does not
 * take. GET /api/v1/requests filters by logical model, resolved model, key, status and time; it has no
 * route-entry parameter (console/requests.ts), so the route entry is matched here, on the page of records
 * the API returned — a page can then show fewer rows than its limit.
 */
import type { RequestRecord } from '../api/types.ts';

export interface LogFilters {
  /** A time the API reads: a duration before now (`15m`), epoch ms or RFC 3339. */
  since: string;
  until: string;
  keyId: string;
  logicalModel: string;
  resolvedModel: string;
  /** An HTTP status (`200`, `429`; `0`: the gateway never answered). */
  status: string;
  routeEntry: string;
}

export const EMPTY_FILTERS: LogFilters = {
  since: '1h',
  until: '',
  keyId: '',
  logicalModel: '',
  resolvedModel: '',
  status: '',
  routeEntry: '',
};

const FIELDS = Object.keys(EMPTY_FILTERS) as (keyof LogFilters)[];

/** The query of GET /api/v1/requests for `filters` (route entry excluded: see the module comment). */
export function requestsQuery(
  filters: LogFilters,
  limit: number,
  cursor?: string,
): Record<string, string | undefined> {
  return {
    since: filters.since.trim(),
    until: filters.until.trim(),
    keyId: filters.keyId.trim(),
    logicalModel: filters.logicalModel.trim(),
    resolvedModel: filters.resolvedModel.trim(),
    status: filters.status.trim(),
    limit: String(limit),
    cursor,
  };
}

export function matchesRouteEntry(record: RequestRecord, filters: LogFilters): boolean {
  const entry = filters.routeEntry.trim();
  return entry === '' || record.routeEntry === entry;
}

/** Filters from the page's query string (`/logs?resolvedModel=…`), so a filtered view is a link. */
export function filtersFromSearch(search: string): LogFilters {
  const params = new URLSearchParams(search);
  const filters = { ...EMPTY_FILTERS };
  for (const field of FIELDS) {
    const value = params.get(field);
    if (value !== null) filters[field] = value;
  }
  return filters;
}

/** The query string for `filters`, the defaults left out. */
export function searchForFilters(filters: LogFilters): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (filters[field] !== EMPTY_FILTERS[field]) params.set(field, filters[field]);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
