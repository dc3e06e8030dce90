/**
 * A lean gRPC server transport on node:http2, for the few methods our services serve (Envoy's
 * ExternalProcessor/Process, grpc.health.v1). It speaks gRPC over HTTP/2 as grpc/grpc
 * doc/PROTOCOL-HTTP2.md defines it (wire.ts has the byte-level rules) and nothing more: one method
 * table, messages in and out as the method's codec makes them, the status in trailers.
 *
 * Why not @grpc/grpc-js' server: per message it runs interceptor chains, metadata objects, a
 * decoder that copies and a framer that copies again, and per stream a dozen closures and timers;
 * for ext_proc's many small messages that cost about as much CPU as all of ext-proc's own work.
 * grpc-js stays where it serves well: clients, and tests (the conformance suite drives this server
 * with the official grpc-js client).
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { removeStaleSocket } from './server-lifecycle.ts';
import {
  type FramingError,
  MessageReader,
  type MessageSink,
  parseTimeout,
  percentEncode,
  Status,
  type StatusCode,
} from './wire.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

const CALL = Symbol('grpc call');
type CallStream = http2.ServerHttp2Stream & { [CALL]?: ServerCall };

/** One method of the table: its codec and its handler. */
export interface Method<Request, Response> {
  /** Decodes one received message; a throw fails the call with INTERNAL. */
  decode(message: Buffer): Request;
  /** The whole length-prefixed frame of one message (wire.ts frameOf / writePrefix). */
  frame(message: Response): Buffer;
  /** Called once per call, when its request headers have arrived. */
  handler(call: ServerCall<Request, Response>): void;
}

export interface GrpcServerOptions {
  /** The largest message received, in bytes; larger ones fail with RESOURCE_EXHAUSTED. -1: no limit. */
  maxReceiveMessageLength?: number;
  /**
   * Server keepalive: a PING after this long on a connection, which is closed when no answer comes
   * within `keepaliveTimeoutMs`. gRPC core's server defaults are 2 hours and 20 seconds (grpc/grpc
   * doc/keepalive.md).
   */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /**
   * Node's incoming RST_STREAM rate limit (node:http2 createServer `streamResetBurst` and
   * `streamResetRate`, 1000 and 33/s by default): beyond it the connection is torn down. Envoy resets
   * its ext_proc stream whenever a client goes away mid-request, so on a busy gateway a thousand
   * resets is ordinary traffic (fuzz/reset-burst.ts); the defaults here are well above the request
   * rate one process serves.
   */
  streamResetBurst?: number;
  streamResetRate?: number;
}

/** gRPC's default receive limit (grpc-js and gRPC core: 4 MiB). */
export const DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH = 4 * 1024 * 1024;
const DEFAULT_KEEPALIVE_TIME_MS = 2 * 60 * 60 * 1000;
const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;

/** Response-Headers → HTTP-Status Content-Type (PROTOCOL-HTTP2.md, Responses). */
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = Object.freeze({
  ':status': 200,
  'content-type': 'application/grpc+proto',
});
// `sendDate: false`: gRPC has no use for a date header (node:http2 adds one unless told not to).
const RESPOND_STREAMING = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;
const RESPOND_ENDING = { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions;
const OK_TRAILERS: http2.OutgoingHttpHeaders = Object.freeze({ 'grpc-status': '0' });

function noop(): void {}

function statusHeaders(code: StatusCode, details: string): http2.OutgoingHttpHeaders {
  if (code === Status.OK && details === '') return OK_TRAILERS;
  return { 'grpc-status': String(code), 'grpc-message': percentEncode(details) };
}

/** Trailers-Only: a call that fails before any message (PROTOCOL-HTTP2.md, Responses). */
function refuse(
  stream: http2.ServerHttp2Stream,
  code: StatusCode,
  details: string,
  extra?: http2.OutgoingHttpHeaders,
): void {
  stream.respond({ ...RESPONSE_HEADERS, ...extra, ...statusHeaders(code, details) }, RESPOND_ENDING);
}

// Trailers sent before the client's END_STREAM should be followed by RST_STREAM NO_ERROR
// (PROTOCOL-HTTP2.md, "Early Server Closure"), but node:http2 cannot order the two: nghttp2 sends an
// RST_STREAM ahead of frames still queued (node src/node_http2.cc, Http2Stream::SubmitRstStream), and
// the client then reads "RST_STREAM code 0, no status" instead of the trailers. The spec asks the same
// of the client (Envoy, grpc-js: both reset or close on trailers), which is what frees the stream here.

/**
 * One call. Events: 'data' (a decoded request message), 'end' (the client half-closed), 'cancelled'
 * (the call ended without a status from its handler: RST_STREAM from the client, a lost connection,
 * the deadline, or a message the transport could not take), and 'close' (always, last).
 */
export class ServerCall<Request = unknown, Response = unknown> extends EventEmitter implements MessageSink {
  /** True once the call ended without the handler's status (see 'cancelled'). */
  cancelled = false;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #method: Method<Request, Response>;
  readonly #reader: MessageReader;
  #headersSent = false;
  /** The call's status is decided: nothing more is sent or delivered. */
  #statusSent = false;
  /** The status is on its way to the client (Trailers-Only, or trailers after the last message). */
  #statusOut = false;
  #trailers: http2.OutgoingHttpHeaders = OK_TRAILERS;
  #deadline: NodeJS.Timeout | undefined;
  #paused = false;

  constructor(
    stream: http2.ServerHttp2Stream,
    /** The request headers: the call's initial metadata. */
    readonly headers: http2.IncomingHttpHeaders,
    method: Method<Request, Response>,
    maxReceiveMessageLength: number,
    timeoutMs: number | undefined,
  ) {
    super();
    this.#stream = stream;
    this.#method = method;
    this.#reader = new MessageReader(maxReceiveMessageLength, this);
    // Stream events reach the call through one shared function each, not closures made per call.
    (stream as CallStream)[CALL] = this as ServerCall;
    stream.on('data', ServerCall.#onData);
    stream.on('end', ServerCall.#onStreamEnd);
    stream.on('close', ServerCall.#onStreamClose);
    if (timeoutMs !== undefined) this.#deadline = setTimeout(ServerCall.#onDeadline, timeoutMs, this);
  }

  static readonly #onData = function (this: CallStream, chunk: Buffer): void {
    this[CALL]!.#reader.push(chunk);
  };
  static readonly #onStreamEnd = function (this: CallStream): void {
    this[CALL]!.#onEnd();
  };
  static readonly #onStreamClose = function (this: CallStream): void {
    this[CALL]!.#onClose();
  };
  static readonly #onWantTrailers = function (this: CallStream): void {
    const call = this[CALL]!;
    call.#statusOut = true;
    this.sendTrailers(call.#trailers);
  };
  static readonly #onDrain = function (this: CallStream): void {
    const call = this[CALL]!;
    call.#paused = false;
    if (!call.#statusSent) this.resume();
  };
  static #onDeadline(call: ServerCall): void {
    call.#expire();
  }

  /** One metadata value (the first, if repeated). */
  header(name: string): string | undefined {
    const value = this.headers[name];
    return typeof value === 'string' ? value : value?.[0];
  }

  /**
   * Sends one message. Answers false when the stream's buffer is full: reading the client's messages
   * then pauses until it drains, so a peer that does not read its answers is not sent more work's worth
   * (HTTP/2 flow control pushes back on it).
   */
  write(message: Response): boolean {
    if (this.#statusSent) return false;
    let frame: Buffer;
    try {
      frame = this.#method.frame(message);
    } catch (error) {
      this.#failTransport({
        code: Status.INTERNAL,
        details: `could not encode the response message: ${(error as Error).message}`,
      });
      return false;
    }
    if (!this.#headersSent) this.#sendHeaders();
    const ok = this.#stream.write(frame);
    if (!ok && !this.#paused) {
      this.#paused = true;
      this.#stream.pause();
      this.#stream.once('drain', ServerCall.#onDrain);
    }
    return ok;
  }

  /** Ends the call with a status (OK by default): trailers, or Trailers-Only before any message. */
  end(code: StatusCode = Status.OK, details = ''): void {
    if (this.#statusSent) return;
    this.#statusSent = true;
    this.#reader.stop();
    if (this.#deadline) clearTimeout(this.#deadline);
    if (this.#stream.destroyed) return;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.#statusOut = true;
      refuse(this.#stream, code, details);
      return;
    }
    this.#trailers = statusHeaders(code, details);
    this.#stream.end();
  }

  #sendHeaders(): void {
    this.#headersSent = true;
    this.#stream.respond(RESPONSE_HEADERS, RESPOND_STREAMING);
    this.#stream.once('wantTrailers', ServerCall.#onWantTrailers);
  }

  /** MessageSink: one whole message from the reader. */
  onMessage(buffer: Buffer): void {
    let message: Request;
    try {
      message = this.#method.decode(buffer);
    } catch (error) {
      this.#failTransport({
        code: Status.INTERNAL,
        details: `could not decode the request message: ${(error as Error).message}`,
      });
      return;
    }
    this.emit('data', message);
  }

  #onEnd(): void {
    if (this.#statusSent) return;
    if (!this.#reader.idle) {
      this.#failTransport({ code: Status.INTERNAL, details: 'the request stream ended inside a message' });
      return;
    }
    this.emit('end');
  }

  /** MessageSink: the reader could not take the stream's bytes. */
  onFramingError(error: FramingError): void {
    this.#failTransport(error);
  }

  /** The transport ends the call itself: the status goes to the client, 'cancelled' to the handler. */
  #failTransport(error: FramingError): void {
    if (this.#statusSent) return;
    this.end(error.code, error.details);
    this.#cancel();
  }

  /**
   * The deadline passed: the call ends with status DEADLINE_EXCEEDED, as grpc-js' server ends it
   * (server-interceptors.ts, its deadline timer sends that status), and the handler is told it was
   * cancelled. The client's own timer fails the call with the same status; a reset from here
   * (RST_STREAM CANCEL) could beat that timer on a busy client, which then reads CANCELLED instead.
   */
  #expire(): void {
    this.#deadline = undefined;
    this.#failTransport({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  }

  #onClose(): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    // RST_STREAM from the client (CANCEL is its cancellation), or the connection went away, before
    // the status went out. A client may half-close first (node:http2's close() sends END_STREAM, then
    // RST_STREAM CANCEL), so a handler that answered the half-close with its status is told too.
    this.#statusSent = true;
    if (!this.#statusOut || (this.#stream.rstCode ?? NGHTTP2_NO_ERROR) !== NGHTTP2_NO_ERROR) {
      this.#reader.stop();
      this.#cancel();
    }
    this.emit('close');
  }

  #cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }
}

/** A listening address: "host:port" (port 0 picks one; "[::]:port" for IPv6) or "unix:/path". */
function parseAddress(address: string): { path: string } | { host: string; port: number } {
  if (address.startsWith('unix:')) {
    const path = address.slice('unix:'.length);
    return { path: path.startsWith('//') ? path.slice(2) : path };
  }
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new Error(`gRPC address ${address} has no port (expected host:port or unix:/path)`);
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`gRPC address ${address} has no valid port`);
  return { host, port };
}

export class GrpcServer {
  // biome-ignore lint/suspicious/noExplicitAny: the table holds methods of any message types
  readonly #methods = new Map<string, Method<any, any>>();
  readonly #servers: http2.Http2Server[] = [];
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #maxReceive: number;
  readonly #keepaliveTimeMs: number;
  readonly #keepaliveTimeoutMs: number;
  readonly #http2Options: http2.ServerOptions;
  #closing = false;

  constructor(options: GrpcServerOptions = {}) {
    this.#maxReceive = options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;
    this.#keepaliveTimeMs = options.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS;
    this.#keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    this.#http2Options = {
      // Node refuses a session above 10 MB of buffered frames by default; a 10 MB body answer is one
      // message, and several may be in flight. Memory is bounded by the message limit instead.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      streamResetBurst: options.streamResetBurst ?? 20_000,
      streamResetRate: options.streamResetRate ?? 5_000,
    };
  }

  /** Adds a method by its path, "/<package>.<Service>/<Method>" (PROTOCOL-HTTP2.md, Path). */
  addMethod<Request, Response>(path: string, method: Method<Request, Response>): void {
    if (this.#methods.has(path)) throw new Error(`gRPC method ${path} is already served`);
    this.#methods.set(path, method);
  }

  /** Listens on one more address; resolves with the bound TCP port (undefined for a Unix socket). */
  async listen(address: string): Promise<number | undefined> {
    const target = parseAddress(address);
    if ('path' in target) await removeStaleSocket(target.path);
    const server = http2.createServer(this.#http2Options);
    server.on('session', this.#onSession);
    server.on('stream', this.#onStream);
    server.on('sessionError', noop);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      if ('path' in target) server.listen(target.path, listening);
      else server.listen(target.port, target.host, listening);
    });
    this.#servers.push(server);
    return 'path' in target ? undefined : (server.address() as AddressInfo).port;
  }

  /**
   * Drains: stops listening, sends every connection GOAWAY (so clients open new streams elsewhere
   * while open ones finish; PROTOCOL-HTTP2.md, "GOAWAY Frame"), and resolves once all have closed or,
   * after `graceMs`, closes what is left.
   */
  close(graceMs: number): Promise<void> {
    this.#closing = true;
    const closed = Promise.all([
      ...this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      ...[...this.#sessions].map(
        (session) =>
          new Promise<void>((resolve) => {
            if (session.closed) resolve();
            else session.close(() => resolve());
          }),
      ),
    ]).then(noop);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.forceClose();
        resolve();
      }, graceMs);
      void closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes every connection at once: open calls end as cancelled. */
  forceClose(): void {
    this.#closing = true;
    for (const server of this.#servers) server.close();
    for (const session of this.#sessions) session.destroy(undefined, NGHTTP2_CANCEL);
    this.#sessions.clear();
  }

  readonly #onSession = (session: http2.ServerHttp2Session) => {
    if (this.#closing) {
      session.close();
      return;
    }
    this.#sessions.add(session);
    session.on('error', noop);
    const keepalive = setInterval(() => this.#ping(session), this.#keepaliveTimeMs);
    keepalive.unref();
    session.once('close', () => {
      clearInterval(keepalive);
      this.#sessions.delete(session);
    });
  };

  #ping(session: http2.ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    // No answer in time: the peer is gone, and the calls on the connection end as cancelled
    // (PROTOCOL-HTTP2.md, "PING Frame").
    const dead = setTimeout(() => session.destroy(), this.#keepaliveTimeoutMs);
    dead.unref();
    const sent = session.ping((error) => {
      clearTimeout(dead);
      if (error && !session.destroyed) session.destroy();
    });
    if (!sent) clearTimeout(dead);
  }

  readonly #onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    // Errors on a stream are followed by 'close', which is where a call learns of them.
    stream.on('error', noop);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      // Not a gRPC client: an HTTP status it understands, not a gRPC one (PROTOCOL-HTTP2.md, Requests).
      stream.respond({ ':status': 415 }, RESPOND_ENDING);
      return;
    }
    const path = headers[':path'] ?? '';
    const method = this.#methods.get(path);
    if (!method) {
      refuse(stream, Status.UNIMPLEMENTED, `the server does not implement the method ${path}`);
      return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      // An encoding the server does not support: UNIMPLEMENTED, naming the ones it does (grpc/grpc
      // doc/compression.md).
      refuse(stream, Status.UNIMPLEMENTED, `message encoding ${String(encoding)} is not supported`, {
        'grpc-accept-encoding': 'identity',
      });
      return;
    }
    const timeoutMs = parseTimeout(headers['grpc-timeout']);
    if (Number.isNaN(timeoutMs)) {
      refuse(stream, Status.INTERNAL, `malformed grpc-timeout ${String(headers['grpc-timeout'])}`);
      return;
    }
    const call = new ServerCall(stream, headers, method, this.#maxReceive, timeoutMs);
    try {
      method.handler(call);
    } catch {
      call.end(Status.UNKNOWN, 'the method handler failed');
    }
  };
}
