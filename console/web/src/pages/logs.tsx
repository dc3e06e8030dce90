/**
 * Request Logs: the newest requests first, filtered by time, key, logical and resolved model, status,
 * route entry, backend and decision kind, paged by the API's cursor, with a live tail that re-reads the
 * first page every few seconds, and a detail view per request.
 */
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { RequestRecord, RequestsAnswer } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { TextField } from '../components/field.tsx';
import { useApi } from '../components/use-api.ts';
import { formatMs, formatTime, formatUsd } from '../format.ts';
import { isFailure } from '../logs/decision.ts';
import {
  EMPTY_FILTERS,
  filtersFromSearch,
  type LogFilters,
  requestsQuery,
  searchForFilters,
} from '../logs/filters.ts';
import { RequestDetail } from './request-detail.tsx';

const PAGE_SIZE = 50;
const TAIL_EVERY_MS = 3000;

const FIELDS: readonly { field: keyof LogFilters; label: string; placeholder: string }[] = [
  { field: 'since', label: 'Since', placeholder: '1h, 2026-01-01T00:00:00Z' },
  { field: 'until', label: 'Until', placeholder: 'now' },
  { field: 'keyId', label: 'Key', placeholder: 'team-a' },
  { field: 'logicalModel', label: 'Logical model', placeholder: 'chat-model' },
  { field: 'resolvedModel', label: 'Resolved model', placeholder: 'gpt-4o' },
  { field: 'status', label: 'Status', placeholder: '200, 429, 0' },
  { field: 'routeEntry', label: 'Route entry', placeholder: 'chat-v2' },
  { field: 'backend', label: 'Backend', placeholder: 'default/openai' },
  { field: 'decision', label: 'Decision', placeholder: 'policy, sticky-split, weighted-split' },
];

export function LogsPage({ search }: { search: string }) {
  const [draft, setDraft] = useState<LogFilters>(() => filtersFromSearch(search));
  const [filters, setFilters] = useState<LogFilters>(draft);
  // Cursors of the pages before the current one; the current page's own cursor is the last.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [tail, setTail] = useState(false);
  const [selected, setSelected] = useState<RequestRecord | undefined>(undefined);
  const cursor = cursors[cursors.length - 1];
  const page = useApi(
    () => get<RequestsAnswer>('requests', requestsQuery(filters, PAGE_SIZE, cursor)),
    [filters, cursor],
  );

  useEffect(() => {
    if (!tail || cursor !== undefined) return;
    const timer = setInterval(page.reload, TAIL_EVERY_MS);
    return () => clearInterval(timer);
  }, [tail, cursor, page.reload]);

  useEffect(() => {
    if (selected !== undefined) document.getElementById('request-detail')?.focus();
  }, [selected]);

  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
    history.replaceState(null, '', `/logs${searchForFilters(draft)}`);
  };
  const reset = () => {
    setDraft(EMPTY_FILTERS);
    setFilters(EMPTY_FILTERS);
    setCursors([undefined]);
    history.replaceState(null, '', '/logs');
  };
  const rows = page.data?.data ?? [];
  const next = page.data?.nextCursor ?? null;

  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">Request Logs</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter requests">
        {FIELDS.map((f) => (
          <TextField
            key={f.field}
            id={`filter-${f.field}`}
            label={f.label}
            value={draft[f.field]}
            placeholder={f.placeholder}
            onInput={(value) => setDraft({ ...draft, [f.field]: value })}
          />
        ))}
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button type="button" onClick={reset}>
            Reset
          </button>
          <label class="toggle" for="live-tail">
            <input
              id="live-tail"
              type="checkbox"
              checked={tail}
              onChange={(e) => {
                setTail((e.currentTarget as HTMLInputElement).checked);
                setCursors([undefined]);
              }}
            />
            Live tail
          </label>
        </div>
      </form>
      {filters.routeEntry.trim() !== '' ? (
        <p class="note">
          The route entry is filtered on this page of results (the API has no route-entry filter).
        </p>
      ) : null}
      <ErrorBox error={page.error} />
      <p class="status" aria-live="polite">
        {page.loading ? 'Loading…' : `${rows.length} request${rows.length === 1 ? '' : 's'} on this page`}
        {tail ? ' · live tail on' : ''}
      </p>
      <div class="table-wrap">
        <table class="requests">
          <caption class="visually-hidden">Requests, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Key</th>
              <th scope="col">Logical model</th>
              <th scope="col">Resolved model</th>
              <th scope="col">Route entry</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">TTFT</th>
              <th scope="col">Cost</th>
              <th scope="col">
                <span class="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.id}
                class={[isFailure(r) ? 'failed' : '', selected?.id === r.id ? 'selected' : '']
                  .join(' ')
                  .trim()}
                aria-current={selected?.id === r.id ? 'true' : undefined}
              >
                <td>{formatTime(r.time)}</td>
                <td>{r.keyId ?? '—'}</td>
                <td>{r.logicalModel ?? '—'}</td>
                <td>{r.resolvedModel ?? '—'}</td>
                <td>{r.routeEntry ?? '—'}</td>
                <td>{r.status}</td>
                <td>{formatMs(r.latencyMs)}</td>
                <td>{formatMs(r.ttftMs)}</td>
                <td>{formatUsd(r.costUsd)}</td>
                <td>
                  <button
                    type="button"
                    aria-label={`Details of request ${r.id}`}
                    onClick={() => setSelected(r)}
                  >
                    Details
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages of requests">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={next === null}
          onClick={() => next !== null && setCursors([...cursors, next])}
        >
          Older
        </button>
      </nav>
      {selected ? <RequestDetail record={selected} onClose={() => setSelected(undefined)} /> : null}
    </main>
  );
}
