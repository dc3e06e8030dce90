/**
 * The endpoint picker benchmark's workload: ~2 KB chat requests whose prompts share prefixes the way a
 * pool's traffic does — one system prompt for everyone, a conversation history shared by that
 * conversation's requests, then a new question each time — so the prefix-cache scorer matches partial
 * chains rather than nothing or everything. Requests carry the session token of their conversation's pod
 * (scheduling/scorers/session-affinity.ts), as a client echoing `x-session-token` does.
 */

import type { HeaderList } from './chat-workload.ts';
import { podName } from './picker-pool.ts';

export const PICKER_MODEL = 'llama-3.1-8b-instruct';
export const PICKER_BODY_BYTES = 2048;
export const CONVERSATIONS = 32;

const SYSTEM =
  'You are the support assistant of an infrastructure platform team. Answer precisely, cite the runbook ' +
  'section you rely on, and say when you are unsure. The platform runs Kubernetes clusters in three ' +
  'regions, an Envoy-based AI gateway in front of self-hosted vLLM pools and hosted providers, a ' +
  'Postgres fleet managed by an operator, and a CI system that builds and signs every image. Incidents ' +
  'follow the severity ladder: sev1 pages the on-call and the incident commander, sev2 pages the ' +
  'on-call, sev3 opens a ticket. Never suggest disabling authentication, admission policies or network ' +
  'policies as a workaround. Prefer commands that are safe to re-run. When a question concerns costs, ' +
  'state the unit and the period. Keep answers under two hundred words unless asked for more detail.';

const TOPICS = ['gateway latency', 'a failing canary', 'KV-cache pressure', 'a stuck rollout'];

/** The earlier turns of conversation `c`: shared by all its requests, different from the others'. */
function history(c: number): { role: string; content: string }[] {
  const topic = TOPICS[c % TOPICS.length]!;
  return [
    {
      role: 'user',
      content:
        `Ticket ${1000 + c}: we are seeing ${topic} in region ${['eu', 'us', 'ap'][c % 3]} since the ` +
        `last deploy of service-${c}. What should we check first?`,
    },
    {
      role: 'assistant',
      content:
        `For ${topic} on service-${c}, start with the deploy diff and the pool dashboards: compare ` +
        'queue depth, KV-cache usage and error rates before and after the rollout, then check whether ' +
        'the endpoint picker marked pods stale. Runbook section 4.2 lists the commands.',
    },
  ];
}

const FILLER = 'Here are the numbers from the dashboard and the last log lines we captured for it. ';

interface Template {
  head: string;
  tail: string;
  /** Characters of the final question after its fixed-width index. */
  pad: string;
}

const QUESTION = (index: number) => `Follow-up ${index.toString().padStart(9, '0')}: `;

/** Per conversation: the JSON around the final question, padded so every body is PICKER_BODY_BYTES. */
const templates: Template[] = Array.from({ length: CONVERSATIONS }, (_, c) => {
  const marker = '\u0000';
  const json = JSON.stringify({
    model: PICKER_MODEL,
    messages: [{ role: 'system', content: SYSTEM }, ...history(c), { role: 'user', content: marker }],
    temperature: 0.2,
    max_tokens: 512,
    stream: false,
  }).replace('\\u0000', marker);
  const at = json.indexOf(marker);
  const head = json.slice(0, at);
  const tail = json.slice(at + 1);
  const room = PICKER_BODY_BYTES - head.length - tail.length - QUESTION(0).length;
  if (room < 0) throw new Error(`conversation ${c} does not fit in ${PICKER_BODY_BYTES} bytes`);
  return { head, tail, pad: FILLER.repeat(Math.ceil(room / FILLER.length)).slice(0, room) };
});

export function conversationOf(index: number): number {
  return index % CONVERSATIONS;
}

/** Request `index`'s body: its conversation's shared prefix, then a question no other request asks. */
export function pickerRequestBody(index: number): Buffer {
  const t = templates[conversationOf(index)]!;
  return Buffer.from(t.head + QUESTION(index) + t.pad + t.tail);
}

/** The request headers the gateway hands the picker (after its own route match). */
export function pickerRequestHeaders(index: number, requestId: string, bodyBytes: number): HeaderList {
  return [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/chat/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(bodyBytes)],
    ['user-agent', 'OpenAI/Python 1.54.0'],
    ['accept', 'application/json'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', requestId],
    ['x-session-token', Buffer.from(podName(conversationOf(index))).toString('base64')],
  ];
}
