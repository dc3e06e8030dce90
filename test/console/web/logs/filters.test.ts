import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../../console/web/src/api/types.ts';
import {
  EMPTY_FILTERS,
  filtersFromSearch,
  matchesRouteEntry,
  requestsQuery,
  searchForFilters,
} from '../../../../console/web/src/logs/filters.ts';

const record = (routeEntry: string | undefined): RequestRecord => ({
  id: 'r',
  time: 0,
  attempts: [],
  status: 200,
  stream: false,
  cancelled: false,
  latencyMs: 1,
  ...(routeEntry === undefined ? {} : { routeEntry }),
});

describe('Request Logs filters', () => {
  it('sends the filters the API takes, trimmed, and never the route entry, which it does not take', () => {
    const query = requestsQuery(
      { ...EMPTY_FILTERS, logicalModel: ' chat-model ', status: '429', routeEntry: 'chat-v2' },
      50,
      'cursor-1',
    );
    expect(query).toEqual({
      since: '1h',
      until: '',
      keyId: '',
      logicalModel: 'chat-model',
      resolvedModel: '',
      status: '429',
      limit: '50',
      cursor: 'cursor-1',
    });
    expect(query).not.toHaveProperty('routeEntry');
  });

  it('matches the route entry on the page, any entry when none is asked for', () => {
    const only = { ...EMPTY_FILTERS, routeEntry: 'chat-v2' };
    expect(
      [record('chat-v2'), record('chat-v1'), record(undefined)].map((r) => matchesRouteEntry(r, only)),
    ).toEqual([true, false, false]);
    expect(matchesRouteEntry(record(undefined), EMPTY_FILTERS)).toBe(true);
  });

  it('round-trips through the query string, leaving the defaults out', () => {
    const filters = { ...EMPTY_FILTERS, resolvedModel: 'gpt-4o', since: '6h' };
    expect(searchForFilters(filters)).toBe('?since=6h&resolvedModel=gpt-4o');
    expect(filtersFromSearch(searchForFilters(filters))).toEqual(filters);
    expect(searchForFilters(EMPTY_FILTERS)).toBe('');
  });
});
