import { describe, expect, it } from 'vitest';
import {
  EMPTY_FILTERS,
  filtersFromSearch,
  requestsQuery,
  searchForFilters,
} from '../../../../console/web/src/logs/filters.ts';

describe('Request Logs filters', () => {
  it('sends every filter to the API, trimmed', () => {
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
      routeEntry: 'chat-v2',
      backend: '',
      decision: '',
      limit: '50',
      cursor: 'cursor-1',
    });
  });

  it('round-trips through the query string, leaving the defaults out', () => {
    const filters = { ...EMPTY_FILTERS, resolvedModel: 'gpt-4o', since: '6h' };
    expect(searchForFilters(filters)).toBe('?since=6h&resolvedModel=gpt-4o');
    expect(filtersFromSearch(searchForFilters(filters))).toEqual(filters);
    expect(searchForFilters(EMPTY_FILTERS)).toBe('');
  });
});
