/**
 * Sending one attempt to a backend cluster over a keep-alive pool, and classifying failures the way a
 * retry policy needs them (connect failure vs. timeout vs. reset).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { RetryOn } from '../config/manifests.ts';
import type { HeaderBag } from './header-bag.ts';
import type { Cluster } from './route-table.ts';

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: Extract<RetryOn, 'connect-failure' | 'timeout'> | 'reset',
    message: string,
  ) {
    super(message);
  }
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

export class UpstreamPool {
  readonly #agents = new Map<string, http.Agent>();

  agent(origin: string): http.Agent {
    let agent = this.#agents.get(origin);
    if (!agent) {
      const options = { keepAlive: true, maxSockets: 256, keepAliveMsecs: 30_000 };
      agent = origin.startsWith('https:') ? new https.Agent(options) : new http.Agent(options);
      this.#agents.set(origin, agent);
    }
    return agent;
  }

  /** Resolves with the response once its headers arrive (the per-attempt timeout covers up to then). */
  send(
    cluster: Cluster,
    headers: HeaderBag,
    body: readonly Buffer[],
    timeoutMs: number,
    onRequest: (request: http.ClientRequest) => void,
  ): Promise<IncomingMessage> {
    const url = new URL(headers.get(':path') ?? '/', cluster.origin);
    const outgoing: Record<string, string | string[]> = headers.toHttp();
    // Envoy rewrites Host to the cluster's (auto_host_rewrite); ext_proc cannot set it.
    outgoing.host = url.host;
    outgoing['content-length'] = String(body.reduce((n, c) => n + c.length, 0));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let connected = false;
      const request = transport.request(url, {
        method: headers.get(':method') ?? 'POST',
        headers: outgoing,
        agent: this.agent(cluster.origin),
      });
      onRequest(request);
      const timer = setTimeout(() => {
        request.destroy(
          new UpstreamFailure('timeout', `${cluster.id} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      request.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      request.on('response', (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error instanceof UpstreamFailure) reject(error);
        else if (!connected && CONNECT_ERRORS.has(error.code ?? '')) {
          reject(new UpstreamFailure('connect-failure', `cannot connect to ${cluster.id} (${error.code})`));
        } else
          reject(
            new UpstreamFailure(
              'reset',
              `${cluster.id} reset the connection (${error.code ?? error.message})`,
            ),
          );
      });
      for (const chunk of body) request.write(chunk);
      request.end();
    });
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

/**
 * The body of an upstream response as it arrived, ending with the failure if the upstream broke: every
 * byte received before a reset is still delivered (as Envoy forwards what it has), then the error.
 * Reading pauses while `highWater` chunks wait, so a slow client slows the upstream.
 */
export function receivedThenFailure(response: IncomingMessage, highWater = 64): AsyncIterable<Buffer> {
  const queue: Buffer[] = [];
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  response.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= highWater) response.pause();
    notify();
  });
  response.on('end', () => {
    ended = true;
    notify();
  });
  response.on('error', (error) => {
    failure ??= new UpstreamFailure(
      'reset',
      `upstream closed the connection mid-response (${error.message})`,
    );
    notify();
  });
  response.on('aborted', () => {
    failure ??= new UpstreamFailure('reset', 'upstream closed the connection mid-response');
    notify();
  });
  // Listeners are attached at once (not on first read) so nothing that arrives meanwhile is lost.
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          if (queue.length < highWater / 2 && response.isPaused()) response.resume();
          yield chunk;
          continue;
        }
        if (ended) return;
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
