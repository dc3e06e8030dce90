/**
 * A parser for the Prometheus text exposition format (prometheus.io/docs/instrumenting/exposition_formats):
 * `name{label="value",…} value [timestamp]` lines, `# HELP` / `# TYPE` comments, label values with
 * `\\`, `\"` and `\n` escapes, and the special values NaN, +Inf, -Inf. Only the samples are returned.
 * A scrape reads three or four series out of a hundred lines (vLLM's histograms alone are most of
 * them), so a caller may name the series it wants: other lines are skipped at their name.
 */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export class ExpositionError extends Error {}

export function parseExposition(text: string, wanted?: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNumber++;
    const from = start;
    start = end + 1;
    if (wanted && !wanted.has(metricName(text, from, end))) continue;
    const line = text.slice(from, end).trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSample(line, lineNumber));
  }
  return samples;
}

/** The metric name a line starts with (after indentation), up to `{`, a space or the line's end. */
function metricName(text: string, from: number, end: number): string {
  while (from < end && (text.charCodeAt(from) === 0x20 || text.charCodeAt(from) === 0x09)) from++;
  let to = from;
  while (to < end) {
    const c = text.charCodeAt(to);
    if (c === 0x7b || c === 0x20 || c === 0x09 || c === 0x0d) break;
    to++;
  }
  return text.slice(from, to);
}

function parseSample(line: string, lineNumber: number): Sample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (!name || /^[0-9]/.test(name)) throw new ExpositionError(`line ${lineNumber}: invalid metric name`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i]!)) i++;
      const label = line.slice(start, i);
      if (!label || line[i] !== '=' || line[i + 1] !== '"')
        throw new ExpositionError(`line ${lineNumber}: malformed label`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new ExpositionError(`line ${lineNumber}: unterminated label value`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = line[i++];
          value += escaped === 'n' ? '\n' : (escaped ?? '');
        } else value += c;
      }
      labels[label] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0], lineNumber);
  return { name, labels, value };
}

function parseValue(text: string | undefined, lineNumber: number): number {
  if (text === undefined || text === '') throw new ExpositionError(`line ${lineNumber}: missing value`);
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (Number.isNaN(value))
    throw new ExpositionError(`line ${lineNumber}: invalid value ${JSON.stringify(text)}`);
  return value;
}
