/**
 * One request, explained: the decision (route entry, how it was chosen, the session), the attempts in
 * order with backend, pod, status and error (the fallback chain), the endpoint picker's scores of the pod
 * it chose, and the figures: latency, TTFT, TPOT,
 * tokens, cost. The session appears as its keyed hash only; no record holds a key or a raw session id.
 */
import type { ComponentChildren } from 'preact';
import type { RequestRecord } from '../api/types.ts';
import { formatCount, formatMs, formatTime, formatUsd } from '../format.ts';
import { attemptRows, decisionSentence, pickerExplanations } from '../logs/decision.ts';

function Row({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

const score = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(3));

/** Why the pod: the picker's weighted total and each scorer's score and weight, per attempt it picked for. */
function PickerScores({ record }: { record: RequestRecord }) {
  const choices = pickerExplanations(record.attempts);
  if (choices.length === 0) return null;
  return (
    <>
      <h3>Endpoint picker</h3>
      {choices.map((c) => (
        <div key={c.n}>
          <p class="decision">
            Attempt {c.n}: the picker chose pod {c.endpoint}, weighted total {score(c.total)}.
          </p>
          <table>
            <caption class="visually-hidden">
              Scores of pod {c.endpoint} by scorer (attempt {c.n})
            </caption>
            <thead>
              <tr>
                <th scope="col">Scorer</th>
                <th scope="col">Score</th>
                <th scope="col">Weight</th>
                <th scope="col">Weighted</th>
              </tr>
            </thead>
            <tbody>
              {c.rows.map((s) => (
                <tr key={s.scorer}>
                  <td>{s.scorer}</td>
                  <td>{score(s.score)}</td>
                  <td>{s.weight ?? '—'}</td>
                  <td>{score(s.weighted)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </>
  );
}

export function RequestDetail({ record, onClose }: { record: RequestRecord; onClose: () => void }) {
  const tokens = record.tokens;
  return (
    <section class="detail" aria-labelledby="request-detail-title" tabIndex={-1} id="request-detail">
      <header class="detail-head">
        <h2 id="request-detail-title">Request {record.id}</h2>
        <button type="button" onClick={onClose}>
          Close details
        </button>
      </header>
      <h3>Decision</h3>
      <p class="decision">{decisionSentence(record)}</p>
      <dl class="facts">
        <Row name="Time">{formatTime(record.time)}</Row>
        <Row name="Key">{record.keyId ?? '—'}</Row>
        <Row name="Operation">
          {[record.method, record.path, record.operation].filter(Boolean).join(' ') || '—'}
        </Row>
        <Row name="Logical model">{record.logicalModel ?? '—'}</Row>
        <Row name="Resolved model">{record.resolvedModel ?? '—'}</Row>
        <Row name="Route entry">{record.routeEntry ?? '—'}</Row>
        <Row name="Decision kind">{record.decision ?? '—'}</Row>
        <Row name="Session (keyed hash)">
          {record.sessionHash ? <code>{record.sessionHash.slice(0, 16)}…</code> : 'none'}
        </Row>
        <Row name="Backend">
          {record.backend ?? '—'}
          {record.provider ? ` (${record.provider})` : ''}
        </Row>
        <Row name="Endpoint (pod)">{record.endpoint ?? '—'}</Row>
        <Row name="Status">
          {record.status}
          {record.errorCode ? ` ${record.errorCode}` : ''}
          {record.cancelled ? ' (client went away)' : ''}
        </Row>
        <Row name="Stream">{record.stream ? 'yes' : 'no'}</Row>
      </dl>
      <h3>Attempts</h3>
      <table>
        <caption class="visually-hidden">Attempts of request {record.id}, in order</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Backend</th>
            <th scope="col">Endpoint</th>
            <th scope="col">Status</th>
            <th scope="col">Error</th>
            <th scope="col">Duration</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {attemptRows(record.attempts).map((a) => (
            <tr key={a.n}>
              <td>{a.n}</td>
              <td>{a.backend}</td>
              <td>{a.endpoint}</td>
              <td>{a.status}</td>
              <td>{a.error}</td>
              <td>{a.duration}</td>
              <td>{a.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PickerScores record={record} />
      <h3>Figures</h3>
      <dl class="facts">
        <Row name="Latency">{formatMs(record.latencyMs)}</Row>
        <Row name="TTFT">{formatMs(record.ttftMs)}</Row>
        <Row name="TPOT">{formatMs(record.tpotMs)}</Row>
        <Row name="Tokens">
          {tokens
            ? `${formatCount(tokens.prompt)} prompt${tokens.cached ? ` (${formatCount(tokens.cached)} cached)` : ''} + ${formatCount(tokens.completion)} completion${tokens.reasoning ? ` (${formatCount(tokens.reasoning)} reasoning)` : ''}`
            : '—'}
        </Row>
        <Row name="Cost">{formatUsd(record.costUsd)}</Row>
      </dl>
    </section>
  );
}
