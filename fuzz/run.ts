/**
 * `npm run fuzz`: a deliberate, longer run of the fuzz targets than `npm test` makes.
 *
 *   npm run fuzz                                   # every target, 10 minutes shared, a fresh seed
 *   npm run fuzz -- --minutes 30 --target ext-proc-grpc
 *   npm run fuzz -- --seed 1234 --cases 5000       # replay: same seed and count, same cases
 *   npm run fuzz -- --target ext-proc-grpc --seed 1234 --case 17   # one case, traced
 *
 * Prints each target's case count and failures (seed and case index, to replay one with
 * `--seed S --cases I+1`), then one JSON line per target, and exits 1 when any invariant broke.
 */
import { parseArgs } from 'node:util';
import { runExtProcGrpcFuzz } from './ext-proc-grpc.ts';
import { runHttpGatewayFuzz } from './http-gateway.ts';
import type { FuzzReport, FuzzTarget } from './target.ts';

const TARGETS: Record<string, FuzzTarget> = {
  'http-gateway': runHttpGatewayFuzz,
  'ext-proc-grpc': runExtProcGrpcFuzz,
};

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    cases: { type: 'string' },
    case: { type: 'string' },
  },
});

const names = values.target === 'all' ? Object.keys(TARGETS) : [values.target!];
for (const name of names)
  if (!TARGETS[name]) throw new Error(`unknown target ${name}; one of ${Object.keys(TARGETS).join(', ')}`);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const cases = values.cases === undefined ? undefined : Number(values.cases);
const durationMs = cases === undefined ? (Number(values.minutes) * 60_000) / names.length : undefined;

const reports: FuzzReport[] = [];
for (const name of names) {
  console.log(
    `fuzz ${name}: seed ${seed}, ${cases !== undefined ? `${cases} cases` : `${Math.round(durationMs! / 1000)} s`}`,
  );
  const report = await TARGETS[name]!({
    seed,
    ...(values.case !== undefined
      ? { only: Number(values.case), trace: (line: string) => console.log(`    ${line}`) }
      : {}),
    ...(cases !== undefined ? { cases } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
  });
  reports.push(report);
  console.log(`  ${report.cases} cases, ${report.failures.length} failing`);
  for (const failure of report.failures.slice(0, 20)) {
    console.log(`  case ${failure.index}: ${failure.input}`);
    for (const problem of failure.problems) console.log(`    ${problem}`);
  }
  for (const problem of report.finalProblems) console.log(`  after the run: ${problem}`);
}
for (const r of reports)
  console.log(
    JSON.stringify({
      fuzz: r.target,
      seed: r.seed,
      cases: r.cases,
      failures: r.failures.length + r.finalProblems.length,
    }),
  );
process.exit(reports.some((r) => r.failures.length > 0 || r.finalProblems.length > 0) ? 1 : 0);
