/**
 * The acceptance scenarios, once, for both places that run them: the local stack
 * (test/integration/*.test.ts, through the dev gateway) and the kind suite (acceptance.e2e.ts, through
 * real Envoy). Each scenario's title is the `it(...)` title of its local test, and
 * test/e2e-kind/scenarios.test.ts fails when a title is missing from that file, so the two lists cannot
 * drift apart silently.
 */
export interface Scenario {
  /** Stable id the kind suite looks scenarios up by. */
  id: string;
  /** The test title, identical in the local test file and in the kind suite. */
  title: string;
  /** The local test that runs the same scenario through the dev gateway. */
  localFile: string;
}

const LOCAL_STACK = 'test/integration/local-stack.test.ts';

export const SCENARIOS = [
  { id: 'models', title: 'lists the logical models the key may use', localFile: LOCAL_STACK },
  {
    id: 'ab-split',
    title: 'splits chat-model 50/50 between the two versions over 2,000 requests',
    localFile: LOCAL_STACK,
  },
  {
    id: 'session-sticky',
    title: 'keeps every session on one variant, and spreads sessions across both',
    localFile: LOCAL_STACK,
  },
  {
    id: 'user-session',
    title: 'uses the OpenAI user field as the session key when no session header is sent',
    localFile: LOCAL_STACK,
  },
  {
    id: 'canary',
    title: 'sends about 5% of summarize-model to the canary over 2,000 requests',
    localFile: LOCAL_STACK,
  },
  {
    id: 'policy-route',
    title: 'always resolves a request tagged x-data-class: regulated to the policy entry',
    localFile: LOCAL_STACK,
  },
  {
    id: 'streaming',
    title: 'streams a completion chunk by chunk with usage on the final chunk',
    localFile: LOCAL_STACK,
  },
  {
    id: 'stream-usage-unasked',
    title:
      'logs the usage of a stream whose client did not ask for it, without sending the client a usage chunk',
    localFile: LOCAL_STACK,
  },
  {
    id: 'request-log',
    title: 'writes one log line per request with the logical and the resolved model, never the key',
    localFile: LOCAL_STACK,
  },
  {
    id: 'endpoint-picking',
    title: 'serves the self-hosted model from a pod the endpoint picker chose',
    localFile: LOCAL_STACK,
  },
  {
    id: 'metrics',
    title: 'exports Prometheus metrics labelled with logical and resolved model',
    localFile: LOCAL_STACK,
  },
  {
    // The local stack's example config has no dead backend; fallback runs in its own local test file.
    id: 'fallback',
    title: 'serves from the next priority when the first backend refuses connections',
    localFile: 'test/integration/fallback.test.ts',
  },
] as const satisfies readonly Scenario[];

export type ScenarioId = (typeof SCENARIOS)[number]['id'];

/** The title of a scenario, for `it(title(...), …)` in the kind suite. */
export function title(id: ScenarioId): string {
  const found = SCENARIOS.find((s) => s.id === id);
  if (!found) throw new Error(`unknown scenario ${id}`);
  return found.title;
}
