/**
 * The one test suite every RequestStore passes (sqlite.test.ts and postgres.test.ts run it). Records are
 * built here with fixed times; `open` returns a new, empty store whose clock is `now`.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord, RequestRecord, TokenCounts } from '../../../analytics/record.ts';
import type { RequestStore, UsageGroup } from '../../../analytics/store/store.ts';

export type OpenStore = (options: { now: () => number }) => Promise<RequestStore>;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** 2026-05-20T10:00:00Z, a minute boundary. */
export const T0 = Date.UTC(2026, 4, 20, 10, 0, 0);

export function record(id: string, time: number, fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id,
    time,
    attempts: [{ backend: 'openai', status: 200 }],
    status: 200,
    stream: false,
    cancelled: false,
    latencyMs: 100,
    ...fields,
  };
}

/**
 * Every optional field required, one level deep: a field added to the record contract and not set in FULL
 * fails `tsc`, and once set, the round trip below fails until the stores keep it.
 */
type Complete<T> = { [K in keyof T]-?: T[K] };

const FULL_ATTEMPT: Complete<AttemptRecord> = {
  backend: 'pool-a',
  status: 503,
  errorCode: 'upstream_unavailable',
  endpoint: '10.0.0.9:8000',
  picker: {
    total: 2,
    scores: { queue: 0.5, 'kv-cache-utilization': 0.75, 'prefix-cache': 0 },
    weights: { queue: 1, 'kv-cache-utilization': 2, 'prefix-cache': 3 },
  },
  startMs: T0 + 1240,
  endMs: T0 + 1290,
};

/** Every field of the record contract set; one attempt with every field, one with the required ones only. */
export const FULL: Complete<Omit<RequestRecord, 'tokens'>> & { tokens: Complete<TokenCounts> } = {
  id: 'req-full',
  time: T0 + 1234,
  keyId: 'team-a-key',
  method: 'POST',
  path: '/v1/chat/completions',
  operation: 'chat.completions',
  routeConfig: 'default',
  routeEntry: 'chat-v2',
  decision: 'sticky-split',
  logicalModel: 'chat-model',
  resolvedModel: 'gpt-4o-2024-08-06',
  backend: 'openai-primary',
  provider: 'OpenAI',
  endpoint: '10.0.0.7:8000',
  attempts: [FULL_ATTEMPT, { backend: 'openai-primary', status: 200 }],
  status: 200,
  errorCode: 'none-but-set',
  stream: true,
  cancelled: true,
  latencyMs: 1532.25,
  ttftMs: 210.5,
  tpotMs: 12.75,
  tokens: { prompt: 1200, completion: 300, cached: 1024, reasoning: 64 },
  costUsd: 0.004125,
  sessionHash: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  responseModel: 'gpt-4o-2024-08-06-snapshot',
  traceParent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  traceState: 'congo=t61rcWkgMzE',
};

/** Only the fields the contract requires. */
const MINIMAL: RequestRecord = {
  id: 'req-minimal',
  time: T0,
  attempts: [],
  status: 401,
  stream: false,
  cancelled: false,
  latencyMs: 0.5,
};

/** Keys of the record contract (analytics/record.ts): nothing else may come back. */
const RECORD_KEYS = new Set(Object.keys(FULL));
const TOKEN_KEYS = new Set(Object.keys(FULL.tokens));
const ATTEMPT_KEYS = new Set(Object.keys(FULL_ATTEMPT));

function group(groups: readonly UsageGroup[], key: string | null): UsageGroup {
  const found = groups.find((g) => g.key === key);
  if (found === undefined) throw new Error(`no group ${key}`);
  return found;
}

async function allPages(store: RequestStore, limit: number, filter = {}): Promise<RequestRecord[]> {
  const seen: RequestRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await store.requests(filter, limit, cursor);
    seen.push(...result.data);
    if (result.nextCursor === undefined) return seen;
    expect(result.data).toHaveLength(limit);
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

export function storeSuite(name: string, open: OpenStore): void {
  describe(`${name} request store`, () => {
    const now = () => T0 + DAY;
    const withStore = (test: (store: RequestStore) => Promise<void>) => async () => {
      const store = await open({ now });
      try {
        await test(store);
      } finally {
        await store.close();
      }
    };

    it(
      'returns every field of a record as written, and absent fields stay absent',
      withStore(async (store) => {
        await store.write([FULL, MINIMAL]);
        const { data, nextCursor } = await store.requests({}, 10);
        expect(nextCursor).toBeUndefined();
        expect(data).toStrictEqual([FULL, MINIMAL]);
      }),
    );

    it(
      'keeps nothing but the record contract fields, in the record and in its attempts',
      withStore(async (store) => {
        const extra = {
          ...record('req-extra', T0, { tokens: { prompt: 1, completion: 2 } }),
          apiKey: 'sk-live-secret',
          sessionId: 'raw-session',
          attempts: [{ backend: 'openai', status: 200, credential: 'Bearer sk-x' }],
        } as unknown as RequestRecord;
        await store.write([extra]);
        const [stored] = (await store.requests({}, 1)).data;
        expect(stored).toBeDefined();
        for (const key of Object.keys(stored!)) expect(RECORD_KEYS).toContain(key);
        for (const key of Object.keys(stored!.tokens!)) expect(TOKEN_KEYS).toContain(key);
        for (const key of Object.keys(stored!.attempts[0]!)) expect(ATTEMPT_KEYS).toContain(key);
        expect(JSON.stringify(stored)).not.toMatch(/secret|raw-session|Bearer/);
        expect(stored).toStrictEqual(record('req-extra', T0, { tokens: { prompt: 1, completion: 2 } }));
      }),
    );

    it(
      'keeps a batch whose client-supplied text holds a NUL or an unpaired surrogate',
      withStore(async (store) => {
        await store.write([
          record('nul', T0, { logicalModel: 'chat\u0000model', sessionHash: 'ab' }),
          record('surrogate', T0 + 1, { logicalModel: 'chat\ud800', errorCode: '\udfffx' }),
          record('plain', T0 + 2, { logicalModel: 'chat' }),
        ]);
        const { data } = await store.requests({}, 10);
        expect(data.map((r) => r.id)).toEqual(['plain', 'surrogate', 'nul']);
        expect(data[0]).toStrictEqual(record('plain', T0 + 2, { logicalModel: 'chat' }));
      }),
    );

    it(
      'stores a record written twice (same time and id) once, in rows and in usage',
      withStore(async (store) => {
        const r = record('req-1', T0, { resolvedModel: 'm' });
        await store.write([r, r]);
        await store.write([r]);
        expect((await store.requests({}, 10)).data).toHaveLength(1);
        const usage = await store.usage({
          since: T0,
          until: T0 + MINUTE,
          groupBy: 'resolvedModel',
          intervalMs: MINUTE,
        });
        expect(group(usage.groups, 'm').requests).toBe(1);
      }),
    );

    it(
      'filters by logical model, resolved model, key, status and a [since, until) time range',
      withStore(async (store) => {
        const records = [
          record('a', T0, { logicalModel: 'chat', resolvedModel: 'v1', keyId: 'k1', status: 200 }),
          record('b', T0 + 1, { logicalModel: 'chat', resolvedModel: 'v2', keyId: 'k2', status: 500 }),
          record('c', T0 + 2, { logicalModel: 'embed', resolvedModel: 'e1', keyId: 'k1', status: 200 }),
          record('d', T0 + 3, { logicalModel: 'chat', resolvedModel: 'v1', keyId: 'k2', status: 429 }),
          record('e', T0 + 4),
        ];
        await store.write(records);
        const ids = async (filter: Parameters<RequestStore['requests']>[0]) =>
          (await store.requests(filter, 100)).data.map((r) => r.id);
        expect(await ids({})).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect(await ids({ logicalModel: 'chat' })).toEqual(['d', 'b', 'a']);
        expect(await ids({ resolvedModel: 'v1' })).toEqual(['d', 'a']);
        expect(await ids({ keyId: 'k1' })).toEqual(['c', 'a']);
        expect(await ids({ status: 500 })).toEqual(['b']);
        expect(await ids({ since: T0 + 1, until: T0 + 3 })).toEqual(['c', 'b']);
        expect(await ids({ logicalModel: 'chat', keyId: 'k2', status: 429 })).toEqual(['d']);
        expect(await ids({ logicalModel: 'none' })).toEqual([]);
      }),
    );

    it(
      'filters by route config and entry, backend, provider, decision, error code, session, stream and cancelled, alone and together',
      withStore(async (store) => {
        await store.write([
          record('a', T0, {
            routeConfig: 'ns/main',
            routeEntry: 'chat-v1',
            backend: 'ns/openai',
            provider: 'OpenAI',
            decision: 'sticky-split',
            sessionHash: 'h1',
            stream: true,
          }),
          record('b', T0 + 1, {
            routeConfig: 'ns/main',
            routeEntry: 'chat-v2',
            backend: 'ns/anthropic',
            provider: 'Anthropic',
            decision: 'sticky-split',
            sessionHash: 'h2',
            status: 502,
            errorCode: 'upstream_error',
          }),
          record('c', T0 + 2, {
            routeConfig: 'ns/other',
            routeEntry: 'chat-v1',
            backend: 'ns/openai',
            provider: 'OpenAI',
            decision: 'policy',
            sessionHash: 'h1',
            stream: true,
            cancelled: true,
            status: 499,
          }),
        ]);
        const ids = async (filter: Parameters<RequestStore['requests']>[0]) =>
          (await store.requests(filter, 100)).data.map((r) => r.id);
        expect(await ids({ routeConfig: 'ns/main' })).toEqual(['b', 'a']);
        expect(await ids({ routeEntry: 'chat-v1' })).toEqual(['c', 'a']);
        expect(await ids({ backend: 'ns/anthropic' })).toEqual(['b']);
        expect(await ids({ provider: 'OpenAI' })).toEqual(['c', 'a']);
        expect(await ids({ decision: 'policy' })).toEqual(['c']);
        expect(await ids({ errorCode: 'upstream_error' })).toEqual(['b']);
        expect(await ids({ sessionHash: 'h1' })).toEqual(['c', 'a']);
        expect(await ids({ stream: true })).toEqual(['c', 'a']);
        expect(await ids({ stream: false })).toEqual(['b']);
        expect(await ids({ cancelled: true })).toEqual(['c']);
        expect(await ids({ cancelled: false })).toEqual(['b', 'a']);
        // Filters of one shape letter each: route config and route entry together are two conditions.
        expect(await ids({ routeConfig: 'ns/main', routeEntry: 'chat-v1' })).toEqual(['a']);
        expect(await ids({ routeEntry: 'chat-v1', routeConfig: 'ns/other' })).toEqual(['c']);
        expect(await ids({ provider: 'OpenAI', stream: true, cancelled: false })).toEqual(['a']);
      }),
    );

    it(
      'pages newest first with a cursor: no duplicates and no gaps, even while newer records arrive',
      withStore(async (store) => {
        // Several records share a millisecond, so order and cursor must use the id as well as the time.
        const records = Array.from({ length: 103 }, (_, i) =>
          record(`req-${String(i).padStart(3, '0')}`, T0 + Math.floor(i / 4) * 1000, {
            logicalModel: i % 2 === 0 ? 'even' : 'odd',
          }),
        );
        await store.write(records.slice().reverse());
        const expected = records
          .slice()
          .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1))
          .map((r) => r.id);
        expect((await allPages(store, 7)).map((r) => r.id)).toEqual(expected);

        const first = await store.requests({ logicalModel: 'even' }, 10);
        // New records (newer than anything) land while the client pages: later pages are unaffected.
        await store.write([
          record('late-1', T0 + DAY, { logicalModel: 'even' }),
          record('late-2', T0 + DAY, { logicalModel: 'even' }),
        ]);
        const rest: string[] = [];
        let cursor = first.nextCursor;
        while (cursor !== undefined) {
          const page = await store.requests({ logicalModel: 'even' }, 10, cursor);
          rest.push(...page.data.map((r) => r.id));
          cursor = page.nextCursor;
        }
        const even = expected.filter((id) => Number(id.slice(4)) % 2 === 0);
        expect([...first.data.map((r) => r.id), ...rest]).toEqual(even);
      }),
    );

    it(
      'refuses a cursor it did not make and a limit out of range',
      withStore(async (store) => {
        await expect(store.requests({}, 10, 'not-a-cursor')).rejects.toThrow(RangeError);
        await expect(store.requests({}, 0)).rejects.toThrow(RangeError);
        await expect(store.requests({}, 1.5)).rejects.toThrow(RangeError);
      }),
    );

    describe('usage', () => {
      /**
       * Known inputs. Model "fast": 10 requests of 100 ms. Model "split": 100 requests, one every 30 s from
       * T0, even ones 30 ms and odd ones 1000 ms; 50 with a TTFT (25 of 45 ms, 25 of 55 ms); 17 errors
       * (10 × 500, 5 × 429, 2 × 499); tokens 10/5/2/1 and $0.001 each. One request with no resolved model.
       * One request of another logical model, and one a minute before T0, both outside the queries below.
       */
      function inputs(): RequestRecord[] {
        const out: RequestRecord[] = [];
        for (let i = 0; i < 10; i++)
          out.push(
            record(`fast-${i}`, T0 + i * 1000, {
              logicalModel: 'chat',
              resolvedModel: 'fast',
              routeEntry: 'entry-fast',
              keyId: 'key-1',
              backend: 'b1',
            }),
          );
        for (let i = 0; i < 100; i++) {
          const status = i < 10 ? 500 : i < 15 ? 429 : i < 17 ? 499 : 200;
          const ttftMs = i >= 50 ? undefined : i % 2 === 0 ? 45 : 55;
          out.push(
            record(`split-${i}`, T0 + i * 30_000, {
              logicalModel: 'chat',
              resolvedModel: 'split',
              routeEntry: 'entry-split',
              keyId: i % 2 === 0 ? 'key-1' : 'key-2',
              backend: 'b2',
              status,
              latencyMs: i % 2 === 0 ? 30 : 1000,
              ...(ttftMs === undefined ? {} : { ttftMs }),
              tokens: { prompt: 10, completion: 5, cached: 2, reasoning: 1 },
              costUsd: 0.001,
            }),
          );
        }
        out.push(record('unrouted', T0 + 5000, { logicalModel: 'chat', status: 404, latencyMs: 2 }));
        out.push(record('other-model', T0 + 5000, { logicalModel: 'embed', resolvedModel: 'fast' }));
        out.push(record('too-early', T0 - MINUTE, { logicalModel: 'chat', resolvedModel: 'fast' }));
        return out;
      }

      it(
        'counts requests, errors, tokens and cost per resolved model, most requests first',
        withStore(async (store) => {
          await store.write(inputs());
          const usage = await store.usage({
            logicalModel: 'chat',
            since: T0,
            until: T0 + 60 * MINUTE,
            groupBy: 'resolvedModel',
            intervalMs: 10 * MINUTE,
          });
          expect(usage.groups.map((g) => g.key)).toEqual(['split', 'fast', null]);
          const split = group(usage.groups, 'split');
          expect(split.requests).toBe(100);
          expect(split.errors).toBe(17);
          expect(split.tokens).toEqual({ prompt: 1000, completion: 500, cached: 200, reasoning: 100 });
          expect(split.costUsd).toBeCloseTo(0.1, 10);
          const fast = group(usage.groups, 'fast');
          expect(fast.requests).toBe(10);
          expect(fast.errors).toBe(0);
          expect(fast.tokens).toEqual({ prompt: 0, completion: 0, cached: 0, reasoning: 0 });
          expect(group(usage.groups, null)).toMatchObject({ requests: 1, errors: 1 });
        }),
      );

      it(
        'reads percentiles from the histogram buckets, interpolated within a bucket between the observed extremes',
        withStore(async (store) => {
          await store.write(inputs());
          const usage = await store.usage({
            logicalModel: 'chat',
            since: T0,
            until: T0 + 60 * MINUTE,
            groupBy: 'resolvedModel',
            intervalMs: 60 * MINUTE,
          });
          // All equal: min = max narrows the bucket to the value itself.
          expect(group(usage.groups, 'fast').latencyMs).toEqual({ p50: 100, p90: 100, p99: 100 });
          expect(group(usage.groups, 'fast').ttftMs).toEqual({ p50: null, p90: null, p99: null });
          // 50 in (20, 40] ms with min 30, 50 in (640, 1280] ms with max 1000:
          // p50 = rank 50, the end of the first bucket → 30 + 10·50/50 = 40
          // p90 = rank 90, 40 into the second → 640 + 360·40/50 = 928 (the exact value would be 1000)
          // p99 = rank 99 → 640 + 360·49/50 = 992.8
          const split = group(usage.groups, 'split');
          expect(split.latencyMs.p50).toBeCloseTo(40, 9);
          expect(split.latencyMs.p90).toBeCloseTo(928, 9);
          expect(split.latencyMs.p99).toBeCloseTo(992.8, 9);
          // TTFT over the 50 that have one, all in (40, 60] ms narrowed to [45, 55]:
          // p50 = 45 + 10·25/50 = 50, p90 = 45 + 10·45/50 = 54, p99 = 45 + 10·49.5/50 = 54.9
          expect(split.ttftMs.p50).toBeCloseTo(50, 9);
          expect(split.ttftMs.p90).toBeCloseTo(54, 9);
          expect(split.ttftMs.p99).toBeCloseTo(54.9, 9);
        }),
      );

      it(
        'returns one time series point per interval, empty intervals included',
        withStore(async (store) => {
          await store.write(inputs());
          const usage = await store.usage({
            logicalModel: 'chat',
            since: T0 + 20_000, // rounded down to T0
            until: T0 + 60 * MINUTE,
            groupBy: 'resolvedModel',
            intervalMs: 10 * MINUTE,
          });
          expect(usage.since).toBe(T0);
          const { series } = group(usage.groups, 'split');
          expect(series.map((p) => p.time)).toEqual([0, 1, 2, 3, 4, 5].map((k) => T0 + k * 10 * MINUTE));
          // 20 requests per 10 minutes (one per 30 s) until minute 50.
          expect(series.map((p) => p.requests)).toEqual([20, 20, 20, 20, 20, 0]);
          expect(series.map((p) => p.errors)).toEqual([17, 0, 0, 0, 0, 0]);
          // Each point: 10 of 30 ms and 10 of 1000 ms → p50 at the end of the 30 ms bucket, 40.
          expect(series.slice(0, 5).map((p) => p.latencyP50Ms)).toEqual([40, 40, 40, 40, 40]);
          expect(series[5]!.latencyP50Ms).toBeNull();
          // TTFT only on the first 50 (minutes 0–24.5): points 0 and 1 full, point 2 half, then none.
          expect(series.map((p) => p.ttftP50Ms)).toEqual([50, 50, 50, null, null, null]);
          expect(series[0]!.tokens).toEqual({ prompt: 200, completion: 100, cached: 40, reasoning: 20 });
          expect(series[0]!.costUsd).toBeCloseTo(0.02, 10);
          expect(series[5]!.tokens).toEqual({ prompt: 0, completion: 0, cached: 0, reasoning: 0 });
        }),
      );

      it(
        'groups by route entry, key and backend, and spans every logical model without the filter',
        withStore(async (store) => {
          await store.write(inputs());
          const query = { since: T0, until: T0 + 60 * MINUTE, intervalMs: 60 * MINUTE } as const;
          const count = async (groupBy: 'routeEntry' | 'keyId' | 'backend', logicalModel?: string) =>
            Object.fromEntries(
              (await store.usage({ ...query, groupBy, logicalModel })).groups.map((g) => [g.key, g.requests]),
            );
          expect(await count('routeEntry', 'chat')).toEqual({
            'entry-split': 100,
            'entry-fast': 10,
            null: 1,
          });
          expect(await count('keyId', 'chat')).toEqual({ 'key-1': 60, 'key-2': 50, null: 1 });
          expect(await count('backend', 'chat')).toEqual({ b2: 100, b1: 10, null: 1 });
          // Without a logical model: the "embed" request joins; the one before T0 stays out.
          expect(await count('backend')).toEqual({ b2: 100, b1: 10, null: 2 });
        }),
      );

      it(
        'answers from hour rollups exactly as from minute rollups, partial hours at both ends included',
        withStore(async (store) => {
          // One request every 7 minutes for 5 hours, latencies and TTFTs spread over many buckets.
          const spread = Array.from({ length: 43 }, (_, i) =>
            record(`h-${i}`, T0 + i * 7 * MINUTE + 13_000, {
              resolvedModel: i % 3 === 0 ? 'a' : 'b',
              status: i % 5 === 0 ? 502 : 200,
              latencyMs: 5 + ((i * 977) % 30_000),
              ...(i % 4 === 0 ? {} : { ttftMs: 0.5 + ((i * 131) % 3_000) }),
              tokens: { prompt: i, completion: 2 * i },
              costUsd: i / 1000,
            }),
          );
          await store.write(spread);
          const range = { since: T0 + 20 * MINUTE + 5_000, until: T0 + 4 * 60 * MINUTE + 10 * MINUTE };
          const hourly = await store.usage({ ...range, groupBy: 'resolvedModel', intervalMs: 60 * MINUTE });
          const byMinute = await store.usage({ ...range, groupBy: 'resolvedModel', intervalMs: 10 * MINUTE });
          expect(hourly.since).toBe(T0);
          expect(hourly.groups.map((g) => g.key)).toEqual(byMinute.groups.map((g) => g.key));
          for (const h of hourly.groups) {
            const m = group(byMinute.groups, h.key);
            const { series: hourSeries, costUsd: hourCost, ...hourTotals } = h;
            const { series: minuteSeries, costUsd: minuteCost, ...minuteTotals } = m;
            expect(hourTotals).toEqual(minuteTotals);
            expect(hourCost).toBeCloseTo(minuteCost, 10);
            // Each hourly point holds the requests of the 10-minute points inside its hour.
            expect(hourSeries.map((p) => p.requests)).toEqual(
              hourSeries.map((p) =>
                minuteSeries
                  .filter((q) => q.time >= p.time && q.time < p.time + 60 * MINUTE)
                  .reduce((n, q) => n + q.requests, 0),
              ),
            );
          }
          // The first hour counts from since (minute 20) on, not from the point's start.
          const expected = spread.filter((r) => r.time >= T0 + 20 * MINUTE && r.time < range.until).length;
          expect(hourly.groups.reduce((n, g) => n + g.requests, 0)).toBe(expected);
        }),
      );

      it(
        'refuses an interval that is not a whole number of minutes and an empty range',
        withStore(async (store) => {
          const base = { since: T0, until: T0 + MINUTE, groupBy: 'resolvedModel' } as const;
          await expect(store.usage({ ...base, intervalMs: 90_000 })).rejects.toThrow(RangeError);
          await expect(store.usage({ ...base, intervalMs: 0 })).rejects.toThrow(RangeError);
          await expect(store.usage({ ...base, until: T0, intervalMs: MINUTE })).rejects.toThrow(RangeError);
        }),
      );
    });

    it(
      "gives the experiment statistics the newest samples of one RouteConfig's split of one logical model, in [since, until)",
      withStore(async (store) => {
        const split = { logicalModel: 'chat', routeConfig: 'default/main', decision: 'sticky-split' };
        await store.write([
          record('old', T0 - 1, split),
          record('s1', T0, {
            ...split,
            routeEntry: 'v1',
            resolvedModel: 'm1',
            sessionHash: 'h1',
            status: 500,
            errorCode: 'provider_error',
            latencyMs: 250,
            ttftMs: 80,
            tokens: { prompt: 100, completion: 20, cached: 50 },
            costUsd: 0.002,
          }),
          record('s2', T0 + 1, { ...split, routeEntry: 'v2', latencyMs: 90 }),
          record('s3', T0 + 2, { ...split, decision: 'weighted-split', routeEntry: 'v2', latencyMs: 95 }),
          // Not the experiment's: policy-routed, another RouteConfig's split, no decision, another model.
          record('policy', T0 + 3, { ...split, decision: 'policy', latencyMs: 1 }),
          record('elsewhere', T0 + 4, { ...split, routeConfig: 'other/main', latencyMs: 2 }),
          record('undecided', T0 + 5, { logicalModel: 'chat', routeConfig: 'default/main', latencyMs: 3 }),
          record('other', T0 + 6, { ...split, logicalModel: 'embed' }),
          record('later', T0 + 100, { ...split, routeEntry: 'v2', latencyMs: 99 }),
        ]);
        const filter = {
          logicalModel: 'chat',
          routeConfig: 'default/main',
          decisions: ['sticky-split', 'weighted-split'],
          since: T0,
          until: T0 + 100,
        };
        expect(await store.experimentSamples(filter, 10)).toStrictEqual([
          {
            routeConfig: 'default/main',
            routeEntry: 'v2',
            decision: 'weighted-split',
            status: 200,
            latencyMs: 95,
          },
          {
            routeConfig: 'default/main',
            routeEntry: 'v2',
            decision: 'sticky-split',
            status: 200,
            latencyMs: 90,
          },
          {
            routeConfig: 'default/main',
            routeEntry: 'v1',
            decision: 'sticky-split',
            resolvedModel: 'm1',
            sessionHash: 'h1',
            status: 500,
            errorCode: 'provider_error',
            latencyMs: 250,
            ttftMs: 80,
            tokens: 120,
            costUsd: 0.002,
          },
        ]);
        // The limit counts the experiment's samples only, so unrelated traffic cannot crowd them out.
        expect((await store.experimentSamples(filter, 2)).map((s) => s.latencyMs)).toEqual([95, 90]);
        expect(
          (await store.experimentSamples({ ...filter, until: T0 + 101 }, 1)).map((s) => s.latencyMs),
        ).toEqual([99]);
        expect(await store.experimentSamples({ ...filter, logicalModel: 'none' }, 10)).toEqual([]);
      }),
    );

    it(
      'prunes records and rollups older than the retention, keeping newer ones',
      withStore(async (store) => {
        // now() is T0 + 1 day; retention 30 days → cutoff T0 − 29 days.
        const ancient = T0 - 40 * DAY;
        const recent = T0 - 28 * DAY;
        await store.write([
          record('ancient', ancient, { resolvedModel: 'm' }),
          record('recent', recent, { resolvedModel: 'm' }),
          record('today', T0, { resolvedModel: 'm' }),
        ]);
        await store.prune(30 * DAY);
        expect((await store.requests({}, 10)).data.map((r) => r.id)).toEqual(['today', 'recent']);
        const usage = async (since: number) =>
          (await store.usage({ since, until: since + MINUTE, groupBy: 'resolvedModel', intervalMs: MINUTE }))
            .groups;
        expect(await usage(ancient)).toEqual([]);
        expect(group(await usage(recent), 'm').requests).toBe(1);
        // The store keeps accepting records after a prune, including for days it dropped.
        await store.write([record('late', ancient + 1)]);
        expect((await store.requests({ until: ancient + 2 }, 10)).data.map((r) => r.id)).toEqual(['late']);
      }),
    );
  });
}
