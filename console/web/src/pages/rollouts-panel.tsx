/**
 * The automated canaries of one RouteConfig as the rollout controller last judged them (GET
 * /api/v1/rollouts): per logical name the baseline and candidate, the stage among the declared steps,
 * the phase, and the last decision with its reason. Re-read every few seconds, as the controller ticks.
 */
import { useEffect } from 'preact/hooks';
import { get } from '../api/client.ts';
import type { RolloutsAnswer } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { useApi } from '../components/use-api.ts';
import { formatTime } from '../format.ts';
import { routeConfigName } from '../routing/names.ts';

const REFRESH_MS = 5000;

export function RolloutsPanel({ routeConfig }: { routeConfig: string }) {
  const rollouts = useApi(() => get<RolloutsAnswer>('rollouts'), []);
  useEffect(() => {
    const timer = setInterval(rollouts.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [rollouts.reload]);
  const mine = (rollouts.data?.data ?? []).filter((r) => routeConfigName(r.routeConfig) === routeConfig);
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
    </section>
  );
}
