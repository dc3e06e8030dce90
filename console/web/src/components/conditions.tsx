/**
 * The status conditions the cluster reports for a key or a RouteConfig (Kubernetes mode): a table of
 * type, status, reason, message and when it last changed. A condition that is not True, or that speaks
 * of an older generation than the spec now has, is said in a sentence above the table, since that is
 * what a person needs to act on.
 */
import type { Condition, ObjectStatus } from '../api/types.ts';
import { formatTime } from '../format.ts';

/** Sentences for what is wrong or not yet known; empty when every condition is True and current. */
export function conditionWarnings(status: ObjectStatus): string[] {
  const out: string[] = [];
  for (const c of status.conditions ?? []) {
    if (c.status !== 'True')
      out.push(
        `${c.type} is ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`,
      );
    else if (
      status.generation !== undefined &&
      c.observedGeneration !== undefined &&
      c.observedGeneration < status.generation
    )
      out.push(
        `${c.type} speaks of generation ${c.observedGeneration}; the spec is at generation ${status.generation}, not yet reconciled`,
      );
  }
  return out;
}

const when = (c: Condition) => {
  const ms = c.lastTransitionTime === undefined ? Number.NaN : Date.parse(c.lastTransitionTime);
  return Number.isNaN(ms) ? '—' : formatTime(ms);
};

export function Conditions({ status, of }: { status: ObjectStatus; of: string }) {
  const conditions = status.conditions;
  if (conditions === undefined) return null;
  const warnings = conditionWarnings(status);
  return (
    <section aria-labelledby="conditions-title">
      <h2 id="conditions-title">Status conditions</h2>
      {warnings.length > 0 ? (
        <div class="error" role="status">
          <ul>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {conditions.length === 0 ? (
        <p>The cluster has reported no condition yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Status conditions of {of}</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Generation</th>
              <th scope="col">Last transition</th>
            </tr>
          </thead>
          <tbody>
            {conditions.map((c) => (
              <tr key={c.type}>
                <th scope="row">{c.type}</th>
                <td>{c.status}</td>
                <td>{c.reason ?? '—'}</td>
                <td>{c.message ?? '—'}</td>
                <td>{c.observedGeneration ?? '—'}</td>
                <td>{when(c)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
