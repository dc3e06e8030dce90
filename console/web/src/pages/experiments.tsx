/**
 * Experiments: the variants of a logical name's weighted split side by side (GET
 * /api/v1/experiments/{logicalModel}), each compared with the baseline figure by figure — the relative
 * difference, its simultaneous interval and the verdict — and a "promote" action that moves the variant
 * to 100% through the canary API (stage 100). Without a logical name it offers the logical names the
 * RouteConfigs route.
 */
import { useState } from 'preact/hooks';
import { ApiError, get, segment, send } from '../api/client.ts';
import type { ExperimentAnswer, RouteConfigDetail, RouteConfigSummary, Session } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { TextField } from '../components/field.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';
import { METRICS, promotionAdvice, relativeText, VERDICT_TEXT } from '../experiments/figures.ts';
import { formatCount, formatTime } from '../format.ts';
import { navigate } from '../router.ts';
import { routeConfigName } from '../routing/names.ts';

export function ExperimentsPage({ model, session }: { model: string | undefined; session: Session }) {
  const [draft, setDraft] = useState(model ?? '');
  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">Experiments{model ? `: ${model}` : ''}</h1>
      <form
        class="filters"
        aria-label="Choose a logical model"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.trim() !== '') navigate(`/experiments/${segment(draft.trim())}`);
        }}
      >
        <TextField
          id="experiment-model"
          label="Logical model"
          value={draft}
          placeholder="chat-model"
          onInput={setDraft}
        />
        <div class="actions">
          <button type="submit">Compare variants</button>
        </div>
      </form>
      {model ? <Experiment model={model} session={session} /> : <LogicalModels />}
    </main>
  );
}

function LogicalModels() {
  const list = useApi(() => get<{ data: RouteConfigSummary[] }>('routeconfigs'), []);
  const models = [...new Set((list.data?.data ?? []).flatMap((rc) => rc.logicalModels))].sort();
  if (list.error instanceof ApiError && list.error.status === 404)
    return <p>Type a logical model whose traffic is split by weight.</p>;
  return (
    <>
      <ErrorBox error={list.error} />
      <ul class="links">
        {models.map((m) => (
          <li key={m}>
            <Link href={`/experiments/${segment(m)}`}>{m}</Link>
          </li>
        ))}
      </ul>
    </>
  );
}

function Experiment({ model, session }: { model: string; session: Session }) {
  const [since, setSince] = useState('24h');
  const [applied, setApplied] = useState('24h');
  const report = useApi(
    () => get<ExperimentAnswer>(`experiments/${segment(model)}`, { since: applied }),
    [model, applied],
  );
  const r = report.data;
  return (
    <>
      <form
        class="filters"
        aria-label="Experiment window"
        onSubmit={(e) => {
          e.preventDefault();
          // The same window again still reads afresh: the weights or the traffic may have changed.
          if (since === applied) report.reload();
          else setApplied(since);
        }}
      >
        <TextField
          id="experiment-since"
          label="Since"
          value={since}
          hint="Choose a window with constant weights."
          onInput={setSince}
        />
        <div class="actions">
          <button type="submit">Recompute</button>
        </div>
      </form>
      <ErrorBox error={report.error} />
      {report.loading && !r ? <p class="status">Loading…</p> : null}
      {r ? (
        <>
          <p class="status" aria-live="polite">
            RouteConfig {r.routeConfig}; baseline {r.baseline}; {formatCount(r.samples.analysed)}{' '}
            split-decided requests analysed since {formatTime(r.since)}
            {r.samples.truncated ? ` (the newest ${formatCount(r.samples.limit)} only)` : ''}.
          </p>
          <VariantsTable report={r} />
          {r.comparisons.map((c) => (
            <section key={c.routeEntry} class="comparison" aria-labelledby={`cmp-${c.routeEntry}`}>
              <h2 id={`cmp-${c.routeEntry}`}>
                {c.routeEntry} ({c.resolvedModel}) against {c.baseline}
              </h2>
              <table>
                <caption>
                  Relative difference with its {Math.round(c.level * 1000) / 10}% interval (simultaneous over
                  the figures)
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Figure</th>
                    <th scope="col">Variant</th>
                    <th scope="col">Baseline</th>
                    <th scope="col">Difference</th>
                    <th scope="col">Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {METRICS.map(({ metric, label, format }) => {
                    const m = c.metrics[metric];
                    return (
                      <tr key={metric}>
                        <th scope="row">{label}</th>
                        <td>{format(m.variant)}</td>
                        <td>{format(m.baseline)}</td>
                        <td>{relativeText(m)}</td>
                        <td class={`verdict verdict-${m.verdict}`}>{VERDICT_TEXT[m.verdict]}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {session.readOnly ? null : (
                <Promote
                  model={model}
                  routeConfig={r.routeConfig}
                  variant={c.routeEntry}
                  advice={promotionAdvice(Object.values(c.metrics).map((m) => m.verdict))}
                  onDone={report.reload}
                />
              )}
            </section>
          ))}
        </>
      ) : null}
    </>
  );
}

function VariantsTable({ report }: { report: ExperimentAnswer }) {
  return (
    <div class="table-wrap">
      <table class="variants">
        <caption>Variants of {report.logicalModel}</caption>
        <thead>
          <tr>
            <th scope="col">Route entry</th>
            <th scope="col">Resolved model</th>
            <th scope="col">Weight</th>
            <th scope="col">Requests</th>
            <th scope="col">Sessions</th>
            <th scope="col">Errors</th>
            {METRICS.map((m) => (
              <th scope="col" key={m.metric}>
                {m.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {report.variants.map((v) => (
            <tr key={v.routeEntry}>
              <th scope="row">
                {v.routeEntry}
                {v.baseline ? ' (baseline)' : ''}
              </th>
              <td>{v.resolvedModel}</td>
              <td>{v.weight}</td>
              <td>{formatCount(v.requests)}</td>
              <td>{formatCount(v.sessions)}</td>
              <td>{formatCount(v.errors)}</td>
              {METRICS.map((m) => (
                <td key={m.metric}>{m.format(v[m.metric])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Promote(props: {
  model: string;
  routeConfig: string;
  variant: string;
  advice: 'recommended' | 'not-recommended';
  onDone: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState(false);
  const promote = async () => {
    setError(undefined);
    try {
      const name = routeConfigName(props.routeConfig);
      const current = await get<RouteConfigDetail>(`routeconfigs/${segment(name)}`);
      await send('POST', `routeconfigs/${segment(name)}/canary`, {
        logicalModel: props.model,
        stage: 100,
        version: current.version,
      });
      setDone(true);
      setConfirming(false);
      props.onDone();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="promote">
      {confirming ? (
        <div class="confirm">
          <p>
            Send all of {props.model}'s split traffic to {props.variant}?
            {props.advice === 'recommended'
              ? ''
              : ' The statistics do not show it better on any figure without being worse on another.'}
          </p>
          <button type="button" onClick={promote}>
            Confirm: promote {props.variant} to 100%
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Promote {props.variant} to 100%
        </button>
      )}
      {done ? (
        <p role="status">
          {props.variant} now takes 100% of the split. The weights in force follow as the configuration source
          applies the change: Recompute to see them.
        </p>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}
