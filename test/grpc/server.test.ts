/**
 * The lean gRPC transport (grpc/server.ts) against the official @grpc/grpc-js client and, for what a
 * well-behaved client never sends (bad framing, compression, a malformed timeout), a raw node:http2
 * client. Methods here are byte echoes, so only the transport is under test.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HealthService } from '../../grpc/health.ts';
import { GrpcServer, type Method, type ServerCall } from '../../grpc/server.ts';
import { frameOf, MessageReader, Status, type StatusCode } from '../../grpc/wire.ts';

type Call = ServerCall<Buffer, Buffer>;

/** A bidi byte method; `onCall` sees every call the server opens. */
function bytesMethod(handler: (call: Call) => void): Method<Buffer, Buffer> {
  return { decode: (b) => Buffer.from(b), frame: frameOf, handler };
}

const calls: Call[] = [];
/** Each call's 'cancelled' and 'close', listened for from its start (they may come at once). */
const events = new WeakMap<Call, { cancelled: Promise<void>; closed: Promise<void> }>();
function track(call: Call): void {
  events.set(call, {
    cancelled: new Promise((resolve) => call.once('cancelled', () => resolve())),
    closed: new Promise((resolve) => call.once('close', () => resolve())),
  });
  calls.push(call);
}
/** Echoes every message; a message "fail:<code>:<details>" ends the call with that status instead. */
function echo(call: Call): void {
  track(call);
  call.on('data', (m: Buffer) => {
    const text = m.toString();
    if (text.startsWith('fail:')) {
      const [, code, ...details] = text.split(':');
      call.end(Number(code) as StatusCode, details.join(':'));
    } else call.write(m);
  });
  call.on('end', () => call.end());
}
/**
 * Never answers, not even the client's half-close: for cancellation, deadlines and drains. (grpc-js'
 * cancel() half-closes before its RST_STREAM; a handler that ended the call on that half-close would
 * have completed it before the reset arrived.)
 */
function silent(call: Call): void {
  track(call);
}

const identity = (b: Buffer) => b;
const definition = (name: string) => ({
  path: `/test.Bytes/${name}`,
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const BytesClient = grpc.makeGenericClientConstructor(
  { Echo: definition('Echo'), Silent: definition('Silent'), Missing: definition('Missing') },
  'Bytes',
);
type BytesStream = grpc.ClientDuplexStream<Buffer, Buffer>;
type Client = grpc.Client & {
  Echo(options?: grpc.CallOptions): BytesStream;
  Silent(options?: grpc.CallOptions): BytesStream;
  Missing(): BytesStream;
};

/** Everything one grpc-js call received, and how it ended. */
function collect(stream: BytesStream): Promise<{ messages: Buffer[]; status: grpc.StatusObject }> {
  const messages: Buffer[] = [];
  stream.on('data', (m: Buffer) => messages.push(m));
  stream.on('error', () => {});
  return new Promise((resolve) => stream.on('status', (status) => resolve({ messages, status })));
}

interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  messages: Buffer[];
  rstCode: number | undefined;
}

/** One raw HTTP/2 request: `chunks` written as they are (each its own write), then END_STREAM. */
function raw(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  chunks: Buffer[],
  end = true,
): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const stream = session.request({
    ':method': 'POST',
    ':path': '/test.Bytes/Echo',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const answer: RawAnswer = { headers: {}, trailers: undefined, messages: [], rstCode: undefined };
  const reader = new MessageReader(-1, {
    onMessage: (m) => answer.messages.push(Buffer.from(m)),
    onFramingError: () => {},
  });
  stream.on('response', (h) => {
    answer.headers = h;
  });
  stream.on('trailers', (t) => {
    answer.trailers = t;
  });
  stream.on('data', (chunk: Buffer) => reader.push(chunk));
  stream.on('error', () => {});
  for (const chunk of chunks) stream.write(chunk);
  if (end) stream.end();
  return new Promise((resolve) =>
    stream.on('close', () => {
      answer.rstCode = stream.rstCode;
      session.close();
      resolve(answer);
    }),
  );
}

/**
 * A raw HTTP/2 call with a grpc-timeout and no timer of its own, left open: whatever ends it is the
 * server's doing.
 */
function openWithTimeout(path: string, timeout: string): { stream: http2.ClientHttp2Stream; close(): void } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': timeout,
  });
  stream.on('error', () => {});
  return {
    stream,
    close: () => {
      stream.close();
      session.close();
    },
  };
}

let server: GrpcServer;
let port: number;
let client: Client;
const health = new HealthService({ '': 'SERVING', 'test.Bytes': 'SERVING' });

beforeAll(async () => {
  server = new GrpcServer({ maxReceiveMessageLength: 1024 * 1024 });
  server.addMethod('/test.Bytes/Echo', bytesMethod(echo));
  server.addMethod('/test.Bytes/Silent', bytesMethod(silent));
  server.addMethod('/test.Bytes/Undecodable', {
    decode: () => {
      throw new Error('invalid wire type 7 at offset 1');
    },
    frame: frameOf,
    handler: silent,
  });
  health.addToServer(server);
  port = (await server.listen('127.0.0.1:0'))!;
  client = new BytesClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  }) as unknown as Client;
});

afterAll(async () => {
  client.close();
  await server.close(100);
});

afterEach(() => {
  calls.length = 0;
});

const cancelled = (call: Call) => events.get(call)!.cancelled;
const closed = (call: Call) => events.get(call)!.closed;
const nextCall = async () => {
  while (calls.length === 0) await new Promise((r) => setTimeout(r, 5));
  return calls[0]!;
};

describe('with the official grpc-js client', () => {
  it('echoes messages of every size in order, empty and beyond one DATA frame included, then ends OK', async () => {
    const sizes = [0, 1, 5, 16_383, 16_384, 16_385, 100_000, 700_000, 3];
    const sent = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const stream = client.Echo();
    const result = collect(stream);
    for (const m of sent) stream.write(m);
    stream.end();
    const { messages, status } = await result;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.length)).toEqual(sizes);
    expect(messages.every((m, i) => m.equals(sent[i]!))).toBe(true);
  });

  it('sends a handler status in trailers after messages, with grpc-message percent-encoded', async () => {
    const stream = client.Echo();
    const result = collect(stream);
    stream.write(Buffer.from('first'));
    stream.write(Buffer.from('fail:9:modèle 100% «indisponible»\nretry'));
    const { messages, status } = await result;
    expect(messages.map(String)).toEqual(['first']);
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe('modèle 100% «indisponible»\nretry');
  });

  it('answers an unknown method UNIMPLEMENTED', async () => {
    const { status } = await collect(client.Missing());
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(status.details).toContain('/test.Bytes/Missing');
  });

  it('refuses a message over the receive limit with RESOURCE_EXHAUSTED and tells the handler', async () => {
    const stream = client.Echo();
    const result = collect(stream);
    stream.write(Buffer.alloc(1024 * 1024 + 1));
    const call = await nextCall();
    const gone = cancelled(call);
    const { status } = await result;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await gone;
    expect(call.cancelled).toBe(true);
  });

  it('fails a message the method cannot decode with INTERNAL', async () => {
    const Client = grpc.makeGenericClientConstructor({ Undecodable: definition('Undecodable') }, 'Bytes');
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
      Undecodable(): BytesStream;
      close(): void;
    };
    const stream = c.Undecodable();
    const result = collect(stream);
    stream.write(Buffer.from([0xff]));
    const { status } = await result;
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).toContain('could not decode the request message');
    c.close();
  });

  it('propagates a client cancellation (RST_STREAM CANCEL) to the handler as cancelled, then close', async () => {
    const stream = client.Silent();
    const result = collect(stream);
    stream.write(Buffer.from('hold on'));
    const call = await nextCall();
    const gone = cancelled(call);
    const over = closed(call);
    stream.cancel();
    await gone;
    await over;
    expect(call.cancelled).toBe(true);
    expect((await result).status.code).toBe(grpc.status.CANCELLED);
  });

  it('cancels the call at its grpc-timeout deadline', async () => {
    const stream = client.Silent({ deadline: Date.now() + 150 });
    const result = collect(stream);
    stream.write(Buffer.from('no answer comes'));
    const call = await nextCall();
    expect(call.header('grpc-timeout')).toMatch(/^\d+[mu]$/);
    await cancelled(call);
    expect((await result).status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('serves many concurrent calls on one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const stream = client.Echo();
        const result = collect(stream);
        stream.write(Buffer.from(`call ${i}`));
        stream.end();
        return result;
      }),
    );
    expect(results.map((r) => r.messages.map(String)[0])).toEqual(
      Array.from({ length: 50 }, (_, i) => `call ${i}`),
    );
  });

  it('keeps the connection through thousands of client resets (Node’s default limit is 1000)', async () => {
    for (let i = 0; i < 1500; i++) {
      const stream = client.Silent();
      stream.on('error', () => {});
      stream.write(Buffer.from('x'));
      await nextCall();
      const call = calls.shift()!;
      const gone = cancelled(call);
      stream.cancel();
      await gone;
    }
    const stream = client.Echo();
    const result = collect(stream);
    stream.write(Buffer.from('still here'));
    stream.end();
    expect((await result).messages.map(String)).toEqual(['still here']);
  }, 60_000);
});

describe('with a raw HTTP/2 client', () => {
  it('reads messages split across DATA frames and many in one frame', async () => {
    const frames = Buffer.concat(['a', 'bb', 'ccc', 'x'.repeat(40_000)].map((m) => frameOf(Buffer.from(m))));
    const chunks = [
      frames.subarray(0, 2),
      frames.subarray(2, 9),
      frames.subarray(9, 20_000),
      frames.subarray(20_000),
    ];
    const answer = await raw(port, {}, chunks);
    expect(answer.messages.map((m) => m.length)).toEqual([1, 2, 3, 40_000]);
    expect(answer.trailers?.['grpc-status']).toBe('0');
    expect(answer.headers['content-type']).toBe('application/grpc+proto');
  });

  it('answers an early error Trailers-Only: one HEADERS frame with the status, no trailers', async () => {
    const answer = await raw(port, {}, [frameOf(Buffer.from('fail:5:no such thing'))]);
    expect(answer.headers[':status']).toBe(200);
    expect(answer.headers['grpc-status']).toBe('5');
    expect(answer.headers['grpc-message']).toBe('no such thing');
    expect(answer.trailers).toBeUndefined();
    expect(answer.messages).toEqual([]);
  });

  it('answers a request that is not gRPC with HTTP 415', async () => {
    const answer = await raw(port, { 'content-type': 'application/json' }, [Buffer.from('{}')]);
    expect(answer.headers[':status']).toBe(415);
  });

  it('refuses a compressed message with INTERNAL', async () => {
    const frame = frameOf(Buffer.from('gzip bytes'));
    frame[0] = 1;
    const answer = await raw(port, {}, [frame]);
    expect(answer.headers['grpc-status']).toBe(String(Status.INTERNAL));
    expect(decodeURIComponent(String(answer.headers['grpc-message']))).toContain('compressed');
  });

  it('refuses a message encoding it does not support with UNIMPLEMENTED, naming identity', async () => {
    const answer = await raw(port, { 'grpc-encoding': 'gzip' }, [frameOf(Buffer.from('x'))]);
    expect(answer.headers['grpc-status']).toBe(String(Status.UNIMPLEMENTED));
    expect(answer.headers['grpc-accept-encoding']).toBe('identity');
    const identity = await raw(port, { 'grpc-encoding': 'identity' }, [frameOf(Buffer.from('x'))]);
    expect(identity.messages.map(String)).toEqual(['x']);
  });

  it('fails a stream that ends inside a message with INTERNAL (bad framing)', async () => {
    const frame = frameOf(Buffer.from('truncated message'));
    const answer = await raw(port, {}, [frameOf(Buffer.from('whole')), frame.subarray(0, 9)]);
    expect(answer.messages.map(String)).toEqual(['whole']);
    expect(answer.trailers?.['grpc-status']).toBe(String(Status.INTERNAL));
  });

  it('refuses a malformed grpc-timeout', async () => {
    const answer = await raw(port, { 'grpc-timeout': '123456789S' }, [frameOf(Buffer.from('x'))]);
    expect(answer.headers['grpc-status']).toBe(String(Status.INTERNAL));
  });

  it('ends the call with DEADLINE_EXCEEDED when the deadline passes, before any client timer', async () => {
    const { stream, close } = openWithTimeout('/test.Bytes/Silent', '50m');
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
      stream.once('response', resolve),
    );
    // Trailers-Only: no message was sent before the deadline.
    expect(headers['grpc-status']).toBe(String(Status.DEADLINE_EXCEEDED));
    expect(headers['grpc-message']).toBe('Deadline exceeded');
    close();
  });

  it('ends a call that has answered with DEADLINE_EXCEEDED trailers when the deadline passes', async () => {
    // Echo answers the message (headers and a message out), then the client sends nothing more.
    const { stream, close } = openWithTimeout('/test.Bytes/Echo', '80m');
    const echoed: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => echoed.push(chunk));
    stream.write(frameOf(Buffer.from('echo me')));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
      stream.once('trailers', resolve),
    );
    expect(trailers['grpc-status']).toBe(String(Status.DEADLINE_EXCEEDED));
    expect(Buffer.concat(echoed).subarray(5).toString()).toBe('echo me');
    close();
  });
});

describe('flow control', () => {
  it('answers false from write while the peer does not read, pauses reading, and delivers everything once it does', async () => {
    const writes: boolean[] = [];
    const s = new GrpcServer();
    s.addMethod(
      '/test.Bytes/Echo',
      bytesMethod((call) => {
        call.on('data', () => writes.push(call.write(Buffer.alloc(256 * 1024, 7))));
        call.on('end', () => call.end());
      }),
    );
    const p = (await s.listen('127.0.0.1:0'))!;
    const session = http2.connect(`http://127.0.0.1:${p}`);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/test.Bytes/Echo',
      'content-type': 'application/grpc',
    });
    stream.pause();
    for (let i = 0; i < 8; i++) stream.write(frameOf(Buffer.from(`request ${i}`)));
    stream.end();
    // The peer reads nothing: past HTTP/2's windows the server's writes report a full buffer.
    for (let i = 0; i < 200 && !writes.includes(false); i++) await new Promise((r) => setTimeout(r, 10));
    expect(writes).toContain(false);
    const received: Buffer[] = [];
    const reader = new MessageReader(-1, { onMessage: (m) => received.push(m), onFramingError: () => {} });
    stream.on('data', (chunk: Buffer) => reader.push(chunk));
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
    stream.resume();
    expect((await trailers)['grpc-status']).toBe('0');
    expect(received).toHaveLength(8);
    expect(received.every((m) => m.length === 256 * 1024 && m[0] === 7)).toBe(true);
    session.close();
    await s.close(100);
  });
});

describe('keepalive and drain', () => {
  it('pings an idle connection at the keepalive interval', async () => {
    const s = new GrpcServer({ keepaliveTimeMs: 30 });
    const p = (await s.listen('127.0.0.1:0'))!;
    const session = http2.connect(`http://127.0.0.1:${p}`);
    await new Promise<void>((resolve) => session.once('ping', () => resolve()));
    session.close();
    await s.close(100);
  });

  it('drains: GOAWAY to the client, an open call finishes, new connections are refused', async () => {
    const s = new GrpcServer();
    s.addMethod('/test.Bytes/Echo', bytesMethod(echo));
    const p = (await s.listen('127.0.0.1:0'))!;
    const c = new BytesClient(`127.0.0.1:${p}`, grpc.credentials.createInsecure()) as unknown as Client;
    const session = http2.connect(`http://127.0.0.1:${p}`);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    const open = c.Echo();
    const result = collect(open);
    open.write(Buffer.from('before'));
    await nextCall();
    const drained = s.close(5_000);
    await goaway;
    open.write(Buffer.from('during the drain'));
    open.end();
    const { messages, status } = await result;
    expect(messages.map(String)).toEqual(['before', 'during the drain']);
    expect(status.code).toBe(grpc.status.OK);
    await drained;
    const late = await collect(c.Echo());
    expect(late.status.code).toBe(grpc.status.UNAVAILABLE);
    c.close();
    session.destroy();
  });

  it('after the grace period, closes calls still open: their handlers see cancelled', async () => {
    const s = new GrpcServer();
    s.addMethod('/test.Bytes/Silent', bytesMethod(silent));
    const p = (await s.listen('127.0.0.1:0'))!;
    const c = new BytesClient(`127.0.0.1:${p}`, grpc.credentials.createInsecure()) as unknown as Client;
    const stream = c.Silent();
    const result = collect(stream);
    stream.write(Buffer.from('never done'));
    const call = await nextCall();
    const gone = cancelled(call);
    await s.close(100);
    await gone;
    expect((await result).status.code).not.toBe(grpc.status.OK);
    c.close();
  });
});

describe('grpc.health.v1 on the same server', () => {
  const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
  type Health = grpc.Client & {
    check(r: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    watch(r: { service: string }): grpc.ClientReadableStream<{ status: string }>;
    list(r: object, cb: (e: grpc.ServiceError | null, r: { statuses: object }) => void): void;
  };
  let h: Health;
  beforeAll(() => {
    h = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Health;
  });
  afterAll(() => h.close());
  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      h.check({ service }, (e, r) => (e ? reject(e) : resolve(String(r.status)))),
    );

  it('answers Check for known services and NOT_FOUND for others', async () => {
    expect(await check('')).toBe('SERVING');
    expect(await check('test.Bytes')).toBe('SERVING');
    await expect(check('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('streams Watch updates, SERVICE_UNKNOWN first for an unknown service', async () => {
    const stream = h.watch({ service: 'later' });
    const seen: string[] = [];
    stream.on('error', () => {});
    const two = new Promise<void>((resolve) =>
      stream.on('data', (r: { status: string }) => {
        seen.push(String(r.status));
        if (seen.length === 1) health.setStatus('later', 'NOT_SERVING');
        if (seen.length === 2) resolve();
      }),
    );
    await two;
    expect(seen).toEqual(['SERVICE_UNKNOWN', 'NOT_SERVING']);
    stream.cancel();
  });

  it('lists every status', async () => {
    const statuses = await new Promise<object>((resolve, reject) =>
      h.list({}, (e, r) => (e ? reject(e) : resolve(r.statuses))),
    );
    expect(statuses).toMatchObject({ '': { status: 'SERVING' }, 'test.Bytes': { status: 'SERVING' } });
  });
});
