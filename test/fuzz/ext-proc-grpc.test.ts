/**
 * The gRPC front door under a misbehaving Envoy (fuzz/ext-proc-grpc.ts): a fixed seed and case budget,
 * so `npm test` replays the same cases every run. `npm run fuzz` draws many more from other seeds.
 */
import { expect, it } from 'vitest';
import { runExtProcGrpcFuzz } from '../../fuzz/ext-proc-grpc.ts';

const SEED = 20261202;
const CASES = 1500;

it(`keeps every invariant over ${CASES} drawn ext_proc streams (seed ${SEED})`, async () => {
  const report = await runExtProcGrpcFuzz({ seed: SEED, cases: CASES });
  console.log(`ext-proc-grpc fuzz: ${report.cases} cases, ${report.failures.length} failing`);
  const shown = report.failures
    .slice(0, 5)
    .map((f) => `case ${f.index}: ${f.input}\n  ${f.problems.join('\n  ')}`)
    .join('\n');
  expect(shown, `${report.failures.length} failing cases`).toBe('');
  expect(report.finalProblems).toEqual([]);
  expect(report.cases).toBe(CASES);
}, 120_000);
