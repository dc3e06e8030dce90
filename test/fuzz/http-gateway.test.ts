/**
 * The HTTP front-door fuzz target (fuzz/http-gateway.ts) in `npm test`: a fixed seed and a case budget
 * that stays well under 20 s on a shared two-core machine; `npm run fuzz` runs it for longer. A failure
 * prints each failing case (replay it with the same seed and `cases: index + 1`, or on its own with
 * traceHttpGatewayCases) and what broke.
 */
import { describe, expect, it } from 'vitest';
import { runHttpGatewayFuzz } from '../../fuzz/http-gateway.ts';
import type { FuzzReport } from '../../fuzz/target.ts';

const SEED = 20_261_202;
const CASES = 500;

function readable(report: FuzzReport): string {
  const cases = report.failures.map(
    (f) => `case ${f.index}: ${f.input}\n${f.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  const final = report.finalProblems.map((p) => `  - ${p}`);
  return [...cases, ...(final.length > 0 ? [`after the run:\n${final.join('\n')}`] : [])].join('\n\n');
}

describe('the dev gateway under hostile and careless HTTP clients', () => {
  it(`keeps every invariant for ${CASES} cases of seed ${SEED}`, { timeout: 120_000 }, async () => {
    const started = performance.now();
    const report = await runHttpGatewayFuzz({ seed: SEED, cases: CASES });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `http-gateway fuzz: ${report.cases} cases (seed ${SEED}) in ${seconds} s, ${report.failures.length} failing`,
    );
    expect(report.cases).toBe(CASES);
    expect(report.failures.length + report.finalProblems.length, `\n${readable(report)}`).toBe(0);
  });
});
