/**
 * Usage Analytics: per group (resolved model by default; route entry, key or backend) over time —
 * requests, error rate, latency and TTFT p50, tokens, cost — charted, and the window's totals with
 * p50/p90/p99 in a table. Read from the store's rollups (GET /api/v1/usage), never from raw rows.
 */
import { useMemo, useState } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { UsageAnswer, UsageGroupBy } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { TextField } from '../components/field.tsx';
import { TimeChart } from '../components/time-chart.tsx';
import { useApi } from '../components/use-api.ts';
import { formatCount, formatMs, formatPercent, formatUsd } from '../format.ts';
import { figureSeries, groupLabel, seriesTimes, USAGE_FIGURES, type UsageFigure } from '../usage/series.ts';

const GROUP_BYS: readonly { value: UsageGroupBy; label: string }[] = [
  { value: 'resolvedModel', label: 'Resolved model' },
  { value: 'routeEntry', label: 'Route entry' },
  { value: 'keyId', label: 'Key' },
  { value: 'backend', label: 'Backend' },
];

interface UsageForm {
  logicalModel: string;
  groupBy: UsageGroupBy;
  since: string;
  interval: string;
}

const FORMATS: Record<UsageFigure['unit'], (v: number | null) => string> = {
  count: formatCount,
  ratio: (v) => formatPercent(v),
  ms: formatMs,
  usd: formatUsd,
};

export function UsagePage({ search }: { search: string }) {
  const initial = useMemo((): UsageForm => {
    const p = new URLSearchParams(search);
    const groupBy = GROUP_BYS.find((g) => g.value === p.get('groupBy'))?.value ?? 'resolvedModel';
    return {
      logicalModel: p.get('logicalModel') ?? '',
      groupBy,
      since: p.get('since') ?? '1h',
      interval: p.get('interval') ?? '',
    };
  }, [search]);
  const [draft, setDraft] = useState(initial);
  const [query, setQuery] = useState(initial);
  const usage = useApi(
    () =>
      get<UsageAnswer>('usage', {
        logicalModel: query.logicalModel.trim(),
        groupBy: query.groupBy,
        since: query.since.trim(),
        interval: query.interval.trim(),
      }),
    [query],
  );
  const groups = usage.data?.data ?? [];
  const times = useMemo(() => seriesTimes(groups), [groups]);
  // Named from the answer, not the form: while a new grouping loads, the table still shows the old one.
  const shownBy = GROUP_BYS.find((g) => g.value === (usage.data?.groupBy ?? query.groupBy))!;
  const byLabel = shownBy.label.toLowerCase();

  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">Usage Analytics</h1>
      <form
        class="filters"
        aria-label="Usage query"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(draft);
          const p = new URLSearchParams(Object.entries(draft).filter(([, v]) => v !== ''));
          history.replaceState(null, '', `/usage?${p}`);
        }}
      >
        <TextField
          id="usage-logical-model"
          label="Logical model"
          value={draft.logicalModel}
          placeholder="all"
          onInput={(v) => setDraft({ ...draft, logicalModel: v })}
        />
        <div class="field">
          <label for="usage-group-by">Group by</label>
          <select
            id="usage-group-by"
            value={draft.groupBy}
            onChange={(e) =>
              setDraft({ ...draft, groupBy: (e.currentTarget as HTMLSelectElement).value as UsageGroupBy })
            }
          >
            {GROUP_BYS.map((g) => (
              <option key={g.value} value={g.value}>
                {g.label}
              </option>
            ))}
          </select>
        </div>
        <TextField
          id="usage-since"
          label="Since"
          value={draft.since}
          placeholder="1h, 24h, 7d"
          onInput={(v) => setDraft({ ...draft, since: v })}
        />
        <TextField
          id="usage-interval"
          label="Interval"
          value={draft.interval}
          placeholder="auto (1m, 1h …)"
          onInput={(v) => setDraft({ ...draft, interval: v })}
        />
        <div class="actions">
          <button type="submit">Show usage</button>
        </div>
      </form>
      <ErrorBox error={usage.error} />
      <p class="status" aria-live="polite">
        {usage.loading
          ? 'Loading…'
          : usage.data
            ? `${groups.length} group${groups.length === 1 ? '' : 's'} by ${byLabel}, ${formatCount(groups.reduce((n, g) => n + g.requests, 0))} requests, one point per ${usage.data.intervalMs / 60000} min`
            : ''}
      </p>
      <div class="table-wrap">
        <table class="usage">
          <caption>Totals over the window, by {byLabel}</caption>
          <thead>
            <tr>
              <th scope="col">{shownBy.label}</th>
              <th scope="col">Requests</th>
              <th scope="col">Error rate</th>
              <th scope="col">Latency p50 / p90 / p99</th>
              <th scope="col">TTFT p50 / p90 / p99</th>
              <th scope="col">Tokens (prompt + completion)</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={groupLabel(g)}>
                <th scope="row">{groupLabel(g)}</th>
                <td>{formatCount(g.requests)}</td>
                <td>{formatPercent(g.requests === 0 ? null : g.errors / g.requests)}</td>
                <td>{[g.latencyMs.p50, g.latencyMs.p90, g.latencyMs.p99].map(formatMs).join(' / ')}</td>
                <td>{[g.ttftMs.p50, g.ttftMs.p90, g.ttftMs.p99].map(formatMs).join(' / ')}</td>
                <td>{formatCount(g.tokens.prompt + g.tokens.completion)}</td>
                <td>{formatUsd(g.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {groups.length > 0 ? (
        <div class="charts">
          {USAGE_FIGURES.map((f) => (
            <UsageChart key={f.id} figure={f} groups={groups} times={times} />
          ))}
        </div>
      ) : null}
    </main>
  );
}

function UsageChart({
  figure,
  groups,
  times,
}: {
  figure: UsageFigure;
  groups: UsageAnswer['data'];
  times: number[];
}) {
  const series = useMemo(() => figureSeries(groups, figure), [groups, figure]);
  const summary = groups.map((g) => `${groupLabel(g)} ${formatCount(g.requests)} requests`).join(', ');
  return (
    <TimeChart
      id={`chart-${figure.id}`}
      title={figure.title}
      times={times}
      series={series}
      format={FORMATS[figure.unit]}
      summary={summary}
    />
  );
}
