import { describe, expect, it } from 'vitest';
import {
  fromServer,
  openProgressToken,
  openRequestId,
  rewriteResult,
} from '../../../ext-proc/mcp/rewrite.ts';
import { SessionIdCodec, SessionTokens } from '../../../ext-proc/mcp/session-id.ts';

const codec = new SessionIdCodec({ version: 1, secret: 'tokens-test-secret-tokens-test-secret' });

describe('SessionTokens', () => {
  it('opens only in the session and for the purpose it was sealed for', () => {
    const a = new SessionTokens(codec, 'session-a');
    const b = new SessionTokens(codec, 'session-b');
    const cursor = a.seal('cursor', { m: 'tools/list', c: { notes: 'p2' } });
    expect(a.open('cursor', cursor)).toEqual({ m: 'tools/list', c: { notes: 'p2' } });
    expect(b.open('cursor', cursor)).toBeUndefined();
    expect(a.open('event-id', cursor)).toBeUndefined();
    expect(a.open('cursor', `${cursor.slice(0, -2)}AA`)).toBeUndefined();
    // Cursors and event ids are randomised; request ids are deterministic (the SIV-style nonce).
    expect(a.seal('cursor', 1)).not.toBe(a.seal('cursor', 1));
    expect(a.seal('request-id', { s: 'x', i: 1 })).toBe(a.seal('request-id', { s: 'x', i: 1 }));
    expect(a.seal('request-id', { s: 'x', i: 1 })).not.toBe(b.seal('request-id', { s: 'x', i: 1 }));
    expect(a.seal('request-id', { s: 'x', i: 1 })).not.toBe(a.seal('request-id', { s: 'x', i: 2 }));
  });
});

describe('fromServer', () => {
  const tokens = new SessionTokens(codec, 'session-a');

  it('re-identifies a server request and its progress token, and the server cancelling it names the same id', () => {
    const request = {
      jsonrpc: '2.0' as const,
      id: 7,
      method: 'sampling/createMessage',
      params: { messages: [], maxTokens: 5, _meta: { progressToken: 'p-1' } },
    };
    const out = fromServer('weather', request, tokens) as typeof request & { id: string };
    expect(typeof out.id).toBe('string');
    expect(JSON.stringify(out)).not.toContain('weather');
    expect(openRequestId(tokens, out.id)).toEqual({ s: 'weather', i: 7 });
    expect(openProgressToken(tokens, out.params._meta.progressToken)).toEqual({ s: 'weather', p: 'p-1' });
    const cancelled = fromServer(
      'weather',
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'timeout' } },
      tokens,
    ) as unknown as { params: { requestId: unknown } };
    expect(cancelled.params.requestId).toBe(out.id);
  });

  it('prefixes resource URIs in notifications and results, and leaves other notifications alone', () => {
    expect(
      fromServer(
        'notes',
        { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'notes://1' } },
        tokens,
      ),
    ).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'notes+notes://1' },
    });
    const listChanged = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    expect(fromServer('notes', listChanged, tokens)).toBe(listChanged);
    expect(rewriteResult('notes', 'resources/read', { contents: [{ uri: 'notes://1', text: 'x' }] })).toEqual(
      { contents: [{ uri: 'notes+notes://1', text: 'x' }] },
    );
    expect(
      rewriteResult('notes', 'tools/call', {
        content: [
          { type: 'text', text: 'notes://1 stays as text' },
          { type: 'resource', resource: { uri: 'notes://2', text: 'y' } },
        ],
      }),
    ).toEqual({
      content: [
        { type: 'text', text: 'notes://1 stays as text' },
        { type: 'resource', resource: { uri: 'notes+notes://2', text: 'y' } },
      ],
    });
  });

  it('refuses ids it did not make', () => {
    expect(openRequestId(tokens, 'weather__7__sampling')).toBeUndefined();
    expect(openRequestId(tokens, 7)).toBeUndefined();
    expect(openRequestId(tokens, tokens.seal('cursor', { s: 'weather', i: 7 }))).toBeUndefined();
  });
});
