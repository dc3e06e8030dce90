/**
 * Benchmark output: a table for people, then one JSON line per figure for machines (CI diffing,
 * dashboards). Pure formatting; printing is the caller's one `console.log`.
 */

/** One figure a benchmark produced. `name` is stable across runs: "<subject>.<workload>.<metric>". */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** `{"bench":"<name>","value":<number>,"unit":"<unit>"}`, keys in that order, numbers as JSON numbers. */
export function jsonLine(result: BenchResult): string {
  if (!Number.isFinite(result.value))
    throw new RangeError(`${result.name}: value ${result.value} is not finite`);
  return JSON.stringify({ bench: result.name, value: result.value, unit: result.unit });
}

/** Rounds for reading, never for the JSON lines: three significant decimals below 100, integers above. */
export function displayValue(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toString();
  return Number(value.toPrecision(3)).toString();
}

export function table(results: readonly BenchResult[]): string {
  const rows = results.map((r) => [r.name, displayValue(r.value), r.unit]);
  const header = ['benchmark', 'value', 'unit'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The whole report: table, blank line, JSON lines. */
export function report(results: readonly BenchResult[]): string {
  return `${table(results)}\n\n${results.map(jsonLine).join('\n')}`;
}
