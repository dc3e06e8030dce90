/**
 * Writes to the request store never block or fail a request: through the real local stack with the
 * official OpenAI SDK, a store whose writes hang forever and one whose writes throw; every request is
 * answered, and the records that could not be stored are counted in
 * agent_router_request_records_dropped_total by reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestStore } from '../../analytics/store/store.ts';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const YAML = (urls: Record<string, string>) =>
  [
    COMMON_YAML,
    backendYaml('sim', urls.sim!),
    `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: sim } }
`,
  ].join('');

function failingStore(write: RequestStore['write']): RequestStore & { writes: number } {
  const store = {
    writes: 0,
    write(records: Parameters<RequestStore['write']>[0]) {
      store.writes++;
      return write(records);
    },
    requests: async () => ({ data: [] }),
    usage: async () => {
      throw new Error('unused');
    },
    experimentSamples: async () => [],
    prune: async () => {},
    close: async () => {},
  };
  return store;
}

let t: TestStack | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function sendAll(stack: TestStack, n: number): Promise<number[]> {
  const client = stack.client();
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const started = performance.now();
      const completion = await client.chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: `hi ${i}` }],
        max_tokens: 4,
      });
      expect(completion.choices[0]!.message.content).toBeTruthy();
      return performance.now() - started;
    }),
  );
}

const dropped = async (stack: TestStack, reason: string) => {
  const text = await stack.stack.extProc.metrics.registry.metrics();
  const match = new RegExp(`agent_router_request_records_dropped_total\\{reason="${reason}"\\} (\\d+)`).exec(
    text,
  );
  return match ? Number(match[1]) : 0;
};

describe('a request store that fails', () => {
  it('whose writes hang: every request is answered, and the records beyond the queue are dropped as queue_full', async () => {
    const store = failingStore(() => new Promise<void>(() => {}));
    t = await startTestStack({ sim: { apiKey: 'provider-secret' } }, YAML, {
      store,
      writer: { queueSize: 5, batchSize: 2, flushIntervalMs: 20 },
    });
    const latencies = await sendAll(t, 30);
    expect(latencies).toHaveLength(30);
    // Nothing waited for the store: each request took what the stack takes, not a store timeout.
    expect(Math.max(...latencies)).toBeLessThan(5_000);
    expect(store.writes).toBeGreaterThan(0);
    // One batch hangs in the store, at most 5 records wait in the queue; the rest are dropped.
    await eventually(async () => ((await dropped(t!, 'queue_full')) >= 30 - 2 - 5 ? true : undefined));
    expect(t.stack.writer!.counters.written).toBe(0);
    expect(t.requestLogs()).toHaveLength(30);
  });

  it('whose writes throw: every request is answered, and each failed batch is counted as store_error', async () => {
    const store = failingStore(() => {
      throw new Error('disk I/O error');
    });
    t = await startTestStack({ sim: { apiKey: 'provider-secret' } }, YAML, {
      store,
      writer: { flushIntervalMs: 20, warnIntervalMs: 0 },
    });
    await sendAll(t, 30);
    await eventually(async () => ((await dropped(t!, 'store_error')) === 30 ? true : undefined));
    expect(t.stack.writer!.counters.dropped.store_error).toBe(30);
    const warnings = t.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'request_store_dropped');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ reason: 'store_error', error: 'disk I/O error' });
  });
});
