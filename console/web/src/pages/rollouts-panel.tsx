/**
 * The automated canaries of one RouteConfig as the rollout controller last judged them (GET
 * /api/v1/rollouts): per logical name the baseline and candidate, the stage among the declared steps,
 * the phase, the last decision with its reason, and the steps it took. Re-read every few seconds, as the
 * controller ticks; when a step moved weights, `onWeightsMoved` lets the page re-read the RouteConfig.
 */
import { useEffect, useRef } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { RolloutsAnswer } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { useApi } from '../components/use-api.ts';
import { formatTime } from '../format.ts';
import { routeConfigName } from '../routing/names.ts';

const REFRESH_MS = 5000;

export function RolloutsPanel({
  routeConfig,
  onWeightsMoved,
}: {
  routeConfig: string;
  onWeightsMoved?: () => void;
}) {
  const rollouts = useApi(() => get<RolloutsAnswer>('rollouts'), []);
  useEffect(() => {
    const timer = setInterval(rollouts.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [rollouts.reload]);
  const mine = (rollouts.data?.data ?? []).filter((r) => routeConfigName(r.routeConfig) === routeConfig);
  // The newest transition of each rollout: a change between two polls means the weights moved.
  const lastSeen = useRef<string | undefined>(undefined);
  const latest = mine.map((r) => `${r.model}:${r.transitions.at(-1)?.at ?? 0}`).join(',');
  useEffect(() => {
    if (rollouts.data === undefined) return;
    if (lastSeen.current !== undefined && lastSeen.current !== latest) onWeightsMoved?.();
    lastSeen.current = latest;
  }, [latest, rollouts.data]);
  return (
    <section class="rollouts" aria-labelledby="rollouts-title">
      <h2 id="rollouts-title">Automated rollouts</h2>
      <ErrorBox error={rollouts.error} />
      {rollouts.data && !rollouts.data.running ? (
        <p class="note">
          No rollout controller runs in this console (it is read-only, or another replica leads).
        </p>
      ) : null}
      {rollouts.data && mine.length === 0 ? (
        <p class="note">No logical name of {routeConfig} declares a rollout.</p>
      ) : null}
      {mine.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Automated rollouts of {routeConfig}</caption>
            <thead>
              <tr>
                <th scope="col">Logical name</th>
                <th scope="col">Baseline → candidate</th>
                <th scope="col">Stage</th>
                <th scope="col">Phase</th>
                <th scope="col">Last decision</th>
                <th scope="col">Decided at</th>
              </tr>
            </thead>
            <tbody>
              {mine.map((r) => (
                <tr key={r.model}>
                  <th scope="row">{r.model}</th>
                  <td>
                    {r.baseline} → {r.candidate}
                  </td>
                  <td>
                    {r.stage}% of steps {r.steps.join(' → ')}
                  </td>
                  <td class={`phase phase-${r.phase}`}>{r.phase}</td>
                  <td>
                    {r.decision}: {r.reason}
                  </td>
                  <td>{formatTime(r.decidedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {mine
        .filter((r) => r.transitions.length > 0)
        .map((r) => (
          <section key={r.model} aria-labelledby={`steps-${r.model}`}>
            <h3 id={`steps-${r.model}`}>Steps taken for {r.model}</h3>
            <ol class="transitions">
              {r.transitions.map((t) => (
                <li key={t.at} class={`transition transition-${t.decision}`}>
                  <time dateTime={new Date(t.at).toISOString()}>{formatTime(t.at)}</time>{' '}
                  {`${t.decision === 'rollback' ? 'Rolled back' : 'Advanced'} ${r.candidate} ${t.from}% → ${t.to}%: ${t.reason}`}
                </li>
              ))}
            </ol>
          </section>
        ))}
    </section>
  );
}
