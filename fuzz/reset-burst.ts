/**
 * Diagnostic, not part of `npm test`: many Process streams that the peer resets while ext-proc still
 * holds them open, as Envoy does when clients disconnect. With grpc-js's server transport the one
 * HTTP/2 connection stopped answering after about a thousand such resets: Node's incoming RST_STREAM
 * rate limit (http2 `streamResetBurst` 1000 / `streamResetRate` 33 per second), which grpc-js offers
 * no option to set; the HTTP fuzz met it once in 27,154 cases. ext-proc's own transport
 * (grpc/server.ts) sets the limit well above the request rate one process serves, and
 * test/grpc/server.test.ts holds a connection through 1500 resets.
 *
 *   npx tsx fuzz/reset-burst.ts [streams=3000] [concurrency=20]
 *
 * Prints how many streams completed within 20 s and exits 1 when the connection stalled.
 */
import { loadSnapshot } from '../config/file-source.ts';
import { startExtProc } from '../ext-proc/server.ts';
import { supportedProviders } from '../ext-proc/translate/registry.ts';
import { createLogger } from '../observability/logger.ts';
import { headerMap, rawClient } from '../test/helpers/ext-proc-client.ts';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 20);
const server = await startExtProc({
  snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
  logger: createLogger({ level: 'silent' }),
  grpcAddress: '127.0.0.1:0',
});
const client = rawClient(`127.0.0.1:${server.grpcPort}`);
let started = 0;
let completed = 0;
const startedAt = Date.now();
const run = Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (started++ < total) {
      const s = client.open('router');
      s.send({
        request_headers: {
          headers: headerMap({
            ':method': 'POST',
            ':path': '/v1/chat/completions',
            authorization: 'Bearer sk-agent-router-team-a',
          }),
        },
      });
      await s.next(); // ext-proc now holds the stream open, waiting for the body
      s.cancel();
      await s.status;
      completed++;
    }
  }),
);
const stalled = await Promise.race([
  run.then(() => false),
  new Promise<boolean>((r) => setTimeout(() => r(true), 20_000)),
]);
console.log(
  `${completed} of ${total} reset streams completed in ${Date.now() - startedAt} ms${stalled ? ': the connection stalled' : ''}`,
);
process.exit(stalled ? 1 : 0);
