/**
 * Headers a client may not forge, at the ext_proc message level over real gRPC: whatever body mode the
 * router-level filter runs in, the answers whose header mutations Envoy applies remove a client-sent
 * destination endpoint (GIE docs/proposals/004-endpoint-picker-protocol) and our internal headers, and
 * keep the client inputs under our prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { AgentRouterError } from '../../ext-proc/errors.ts';
import { HttpHead } from '../../ext-proc/phases.ts';
import { RouterPhases } from '../../ext-proc/router-phase.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import type { HeaderMutation, ProcessingRequest } from '../../protos/ext-proc-messages.ts';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

let server: ExtProcServer;
let client: ReturnType<typeof rawClient>;

beforeAll(async () => {
  server = await startExtProc({
    snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
    logger: capturingLogger().logger,
    grpcAddress: '127.0.0.1:0',
  });
  client = rawClient(`127.0.0.1:${server.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await server.shutdown(1000);
});

const FORGED = {
  'x-gateway-destination-endpoint': '10.0.0.9:8000',
  'x-gateway-destination-endpoint-served': '10.0.0.9:8000',
  'x-agent-router-route': 'other/ns/entry',
  'x-agent-router-key-id': 'default/team-b',
  'x-agent-router-model': 'summarize-model',
  'x-agent-router-backend': 'default/spoofed',
  'x-agent-router-made-up': 'anything',
};
const HEADERS = {
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  ':authority': 'gateway',
  'content-type': 'application/json',
  authorization: 'Bearer sk-agent-router-team-a',
  'x-agent-router-priority': '-1',
  ...FORGED,
};
const BODY = Buffer.from(
  JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hello there' }] }),
);

/** The request headers Envoy forwards after applying these mutations in order (removals, then sets). */
function forwarded(sent: Record<string, string>, mutations: (HeaderMutation | undefined)[]) {
  const headers = new Map(Object.entries(sent));
  for (const mutation of mutations) {
    for (const name of mutation?.remove_headers ?? []) headers.delete(name);
    for (const { header } of mutation?.set_headers ?? [])
      headers.set(header.key, header.raw_value?.toString() ?? header.value ?? '');
  }
  return Object.fromEntries(headers);
}

/** Drives one router-level stream; returns the header mutations Envoy applies in that mode. */
async function applied(
  mode: 'NONE' | 'BUFFERED' | 'STREAMED' | 'FULL_DUPLEX_STREAMED',
  headers: Record<string, string>,
): Promise<(HeaderMutation | undefined)[]> {
  const s = client.open();
  const first: ProcessingRequest = {
    request_headers: { headers: headerMap(headers) },
    protocol_config: {
      request_body_mode: mode,
      send_body_without_waiting_for_header_response: mode === 'FULL_DUPLEX_STREAMED',
    },
  };
  try {
    if (mode === 'FULL_DUPLEX_STREAMED') {
      s.send(first);
      s.send({ request_body: { body: BODY.subarray(0, 9), end_of_stream: false } });
      s.send({ request_body: { body: BODY.subarray(9), end_of_stream: true } });
      // The held headers answer carries the mutations; the body comes back as streamed_response.
      const held = await s.next();
      expect(held.response).toBe('request_headers');
      expect((await s.next()).response).toBe('request_body');
      return [held.request_headers?.response?.header_mutation];
    }
    s.send(first);
    const headersAnswer = await s.next();
    expect(headersAnswer.response).toBe('request_headers');
    if (mode === 'STREAMED') {
      // Allow_mode_override off: the body streams, and Envoy drops a body answer's header mutations.
      s.send({ request_body: { body: BODY, end_of_stream: true } });
      await s.next();
      return [headersAnswer.request_headers?.response?.header_mutation];
    }
    // NONE (asks for BUFFERED with mode_override) and BUFFERED: both answers' mutations apply.
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const bodyAnswer = await s.next();
    expect(bodyAnswer.response).toBe('request_body');
    return [
      headersAnswer.request_headers?.response?.header_mutation,
      bodyAnswer.request_body?.response?.header_mutation,
    ];
  } finally {
    s.end();
  }
}

describe('router-level phase: headers a client may not forge', () => {
  it.each(['NONE', 'BUFFERED', 'STREAMED', 'FULL_DUPLEX_STREAMED'] as const)(
    'in %s mode, removes a client-sent destination endpoint and route header before the request goes on',
    async (mode) => {
      const out = forwarded(HEADERS, await applied(mode, HEADERS));
      expect(out['x-gateway-destination-endpoint']).toBeUndefined();
      expect(out['x-gateway-destination-endpoint-served']).toBeUndefined();
      expect(out['x-agent-router-backend']).toBeUndefined();
      expect(out['x-agent-router-made-up']).toBeUndefined();
      expect(out.authorization).toBeUndefined();
      // The decision's target header, or (STREAMED, whose body answer Envoy cannot apply) none at all.
      if (mode === 'STREAMED') expect(out['x-agent-router-route']).toBeUndefined();
      else {
        expect(out['x-agent-router-route']).toMatch(/^default\/default\/chat-v[12]$/);
        expect(out['x-agent-router-key-id']).toBe('default/team-a');
        expect(out['x-agent-router-model']).toBe('chat-model');
      }
      // A client input the endpoint picker reads, not ours to take away.
      expect(out['x-agent-router-priority']).toBe('-1');
    },
  );

  it('removes them from a keyless request too', async () => {
    const { authorization: _, ...keyless } = HEADERS;
    const out = forwarded(keyless, await applied('NONE', keyless));
    expect(out['x-gateway-destination-endpoint']).toBeUndefined();
    expect(out['x-agent-router-route']).toMatch(/^default\/default\/chat-v[12]$/);
    expect(out['x-agent-router-key-id']).toBe('anonymous');
  });

  it('names only those the request carries: one the client did not send needs no removal', async () => {
    const plain: Record<string, string> = { ...HEADERS };
    for (const name of Object.keys(FORGED)) delete plain[name];
    const [a, body] = await applied('NONE', plain);
    expect(a?.remove_headers).toEqual(['authorization']);
    // Nothing more to remove once the body is read.
    expect(body?.remove_headers).toBeUndefined();
    const [forged] = await applied('NONE', HEADERS);
    expect(forged?.remove_headers).toEqual(expect.arrayContaining(['authorization', ...Object.keys(FORGED)]));
    expect(forged?.remove_headers).not.toContain('x-agent-router-priority');
  });
});

describe('router-level phase: GET /v1/models/<id>', () => {
  const phases = () =>
    new RouterPhases(new SnapshotStore(loadSnapshot('examples/local.yaml', { supportedProviders })), {
      onRequest() {},
    });
  const get = (path: string) =>
    phases().requestHeaders(
      new HttpHead(
        new Map([
          [':method', 'GET'],
          [':path', path],
          ['authorization', 'Bearer sk-agent-router-team-a'],
        ]),
      ),
      true,
    );
  const refusal = (path: string) => {
    try {
      get(path);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('answers a model named with percent-encoding, and 404 for one that does not exist', () => {
    expect(get('/v1/models/chat%2Dmodel').respond?.body).toMatchObject({ id: 'chat-model', object: 'model' });
    expect(refusal('/v1/models/nope')).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('refuses malformed percent-encoding with a 400 invalid_url, not a URIError (found by fuzzing)', () => {
    for (const path of ['/v1/models/%', '/v1/models/%ZZ', '/v1/models/%E0%A4%A', '/v1/models/%C0%AF']) {
      const error = refusal(path);
      expect(error, path).toBeInstanceOf(AgentRouterError);
      expect(error, path).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'invalid_url' });
    }
  });
});

describe('the decision metadata', () => {
  const store = new SnapshotStore(loadSnapshot('examples/local.yaml', { supportedProviders }));
  const decide = (key: string, path = '/v1/chat/completions', model = 'chat-model') => {
    const phases = new RouterPhases(store, { onRequest() {} });
    phases.requestHeaders(
      new HttpHead(
        new Map([
          [':method', 'POST'],
          [':path', path],
          ['authorization', `Bearer ${key}`],
          ['x-session-id', 'conversation-1'],
        ]),
      ),
      false,
    );
    return phases.requestBody(Buffer.from(JSON.stringify({ model, messages: [] }))).dynamicMetadata!;
  };

  it('is one frozen value per entry, key and path, shared by every request that makes that decision', () => {
    const first = decide('sk-agent-router-team-a');
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first['agent-router'])).toBe(true);
    expect(decide('sk-agent-router-team-a')).toBe(first);
    expect(first['agent-router']).toMatchObject({ key_id: 'default/team-a', path: '/v1/chat/completions' });
    const other = decide('sk-agent-router-team-b');
    expect(other).not.toBe(first);
    expect(other['agent-router']).toMatchObject({ key_id: 'default/team-b' });
    expect(decide('sk-agent-router-team-a', '/v1/completions')['agent-router']).toMatchObject({
      path: '/v1/completions',
    });
  });
});
