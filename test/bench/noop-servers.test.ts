/**
 * The two other floors of the CPU benchmark answer the Envoy-role driver exactly as the grpc-js no-op
 * does, so all three receive the same message sequence.
 */
import { describe, expect, it } from 'vitest';
import { createExtProcClient, driveChat, runChatExchange } from '../../bench/ext-proc-driver.ts';
import { startNoopExtProc } from '../../bench/servers/noop.ts';
import { startNoopHttp2 } from '../../bench/servers/noop-http2.ts';
import { startNoopLean } from '../../bench/servers/noop-lean.ts';

describe.each([
  ['bare node:http2 no-op', startNoopHttp2],
  ['no-op on the services’ own transport', startNoopLean],
])('%s', (_name, start) => {
  it('gives the answers of the grpc-js no-op, message for message, and drives to completion', async () => {
    const [server, reference] = await Promise.all([start(), startNoopExtProc()]);
    const client = createExtProcClient(server.grpcPort);
    const referenceClient = createExtProcClient(reference.grpcPort);
    try {
      const strip = (x: object) => JSON.parse(JSON.stringify(x));
      expect(strip(await runChatExchange(client, 'req-1'))).toEqual(
        strip(await runChatExchange(referenceClient, 'req-1')),
      );
      await driveChat(client, { requests: 40, concurrency: 8 });
    } finally {
      client.close();
      referenceClient.close();
      await Promise.all([server.shutdown(), reference.shutdown()]);
    }
  });
});
