/**
 * The fuzz client: one request over raw `node:http` (fetch refuses odd headers and request targets),
 * on its own connection, sent as the case says and read as the case says — to the end, left once the
 * response starts (or after a short wait when none comes), or left halfway through the upload.
 */
import http from 'node:http';
import type { ClientMode, WireRequest } from './cases.ts';

export interface ClientResult {
  status: number | undefined;
  /** Header names lower-case, repeated headers joined with ", " (set-cookie too, for searching). */
  headers: Record<string, string>;
  /** Every header line as received, for the secret search. */
  rawHeaders: string[];
  body: Buffer;
  /** The response ended as framed (its content-length, or the last chunk of a chunked body). */
  complete: boolean;
  /** The client closed the connection before the response ended, on purpose. */
  left: boolean;
  /** No answer (or no end of it) within the time limit, when the client meant to wait for it. */
  timedOut: boolean;
  /** What the socket said when the exchange failed (e.g. "socket hang up"). */
  error: string | undefined;
}

/** How long a client that leaves waits for a response to start before it leaves anyway. */
const LEAVE_AFTER_MS = 150;

export function send(
  origin: string,
  wire: WireRequest,
  mode: ClientMode,
  timeoutMs: number,
): Promise<ClientResult> {
  const url = new URL(origin);
  return new Promise((resolve) => {
    const result: ClientResult = {
      status: undefined,
      headers: {},
      rawHeaders: [],
      body: Buffer.alloc(0),
      complete: false,
      left: false,
      timedOut: false,
      error: undefined,
    };
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(leaveTimer);
      result.body = Buffer.concat(chunks);
      resolve(result);
    };
    const leave = () => {
      if (done || result.complete) return;
      result.left = true;
      req.destroy();
      finish();
    };
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: wire.method,
      path: wire.target,
      headers: wire.headers,
      setHost: false,
      agent: false,
    });
    const timer = setTimeout(() => {
      result.timedOut = true;
      req.destroy();
      finish();
    }, timeoutMs);
    let leaveTimer: NodeJS.Timeout | undefined;
    if (mode === 'abort-after-response') leaveTimer = setTimeout(leave, LEAVE_AFTER_MS);
    req.on('error', (error) => {
      result.error ??= error.message;
      finish();
    });
    req.on('response', (res) => {
      result.status = res.statusCode;
      result.rawHeaders = res.rawHeaders;
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase();
        const value = res.rawHeaders[i + 1]!;
        result.headers[name] = name in result.headers ? `${result.headers[name]}, ${value}` : value;
      }
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (mode === 'abort-after-response') setImmediate(leave);
      });
      res.on('end', () => {
        result.complete = res.complete;
        finish();
      });
      res.on('aborted', () => {
        result.error ??= 'response aborted';
      });
      res.on('error', (error) => {
        result.error ??= error.message;
        finish();
      });
      res.on('close', finish);
      if (mode === 'abort-after-response') {
        clearTimeout(leaveTimer);
        leaveTimer = setTimeout(leave, 20);
      }
    });
    const body = wire.body;
    if (body === undefined) {
      req.end();
      return;
    }
    if (mode === 'abort-mid-upload') {
      req.flushHeaders();
      req.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => {
        if (done) return;
        result.left = true;
        req.destroy();
        finish();
      }, 30);
      return;
    }
    // In a few pieces, so a chunked upload has several chunks.
    const third = Math.ceil(body.length / 3);
    if (third > 0) for (let at = 0; at < body.length; at += third) req.write(body.subarray(at, at + third));
    req.end();
  });
}

/** A plain GET (admin port): status and body, or the error. */
export function get(
  url: string,
  timeoutMs = 5_000,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}
