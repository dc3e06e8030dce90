/**
 * Request Logs filters: what the form holds and the GET /api/v1/requests query it becomes. Every filter is
 * the API's own (console/requests.ts: exact matches of record fields and a time range), so a page is
 * always a full page of matching records and the cursor pages through exactly them.
 */

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
  backend: string;
  /** How the entry was chosen: policy, sticky-split, weighted-split. */
  decision: string;
}

export const EMPTY_FILTERS: LogFilters = {
  since: '1h',
  until: '',
  keyId: '',
  logicalModel: '',
  resolvedModel: '',
  status: '',
  routeEntry: '',
  backend: '',
  decision: '',
};

const FIELDS = Object.keys(EMPTY_FILTERS) as (keyof LogFilters)[];

/** The query of GET /api/v1/requests for `filters`, trimmed; empty values are left out by the client. */
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
    routeEntry: filters.routeEntry.trim(),
    backend: filters.backend.trim(),
    decision: filters.decision.trim(),
    limit: String(limit),
    cursor,
  };
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
