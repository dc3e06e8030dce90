/**
 * A stand-in for a provider's API on loopback (the one thing that cannot run here): records every
 * request as received and answers with what the test scripts — fixture bytes in the provider's
 * documented format, streamed in the given chunks when a stream is wanted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Whole body, or chunks written one by one (flushed separately) for streams. */
  body: Buffer | string | (Buffer | string)[];
  /** Destroy the connection after writing this many chunks (a broken stream). */
  breakAfterChunks?: number;
}

export interface FakeProvider {
  url: string;
  requests: RecordedRequest[];
  /** The answer for the next requests (or a function of the request). */
  answer(next: FakeAnswer | ((request: RecordedRequest) => FakeAnswer)): void;
  close(): Promise<void>;
}

export async function startFakeProvider(host = '127.0.0.1'): Promise<FakeProvider> {
  const requests: RecordedRequest[] = [];
  let next: FakeAnswer | ((request: RecordedRequest) => FakeAnswer) = {
    status: 500,
    body: '{"error":"no answer scripted"}',
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(recorded);
    const answer = typeof next === 'function' ? next(recorded) : next;
    res.writeHead(answer.status ?? 200, answer.headers ?? { 'content-type': 'application/json' });
    const parts = Array.isArray(answer.body) ? answer.body : [answer.body];
    for (let i = 0; i < parts.length; i++) {
      if (answer.breakAfterChunks !== undefined && i >= answer.breakAfterChunks) {
        res.socket?.destroy();
        return;
      }
      res.write(parts[i]!);
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    answer(a) {
      next = a;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
