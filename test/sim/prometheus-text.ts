/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format), for tests: it throws on
 * anything a Prometheus server would reject, so a test that parses a scrape also checks its syntax.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number | undefined;
}

export interface PromFamily {
  readonly name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
}

export interface PromScrape {
  readonly families: ReadonlyMap<string, PromFamily>;
  readonly samples: readonly PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): PromScrape {
  const families = new Map<string, PromFamily>();
  const samples: PromSample[] = [];
  const seenSeries = new Set<string>();
  const sampledFamilies = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const fail = (reason: string): never => {
      throw new Error(`line ${index + 1}: ${reason}: ${JSON.stringify(line)}`);
    };
    if (/^[ \t]*$/.test(line)) return;
    if (line.startsWith('#')) {
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+([^ \t]+)(?:[ \t]+(.*))?$/.exec(line);
      if (match === null) return; // a plain comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) fail('bad metric name');
      const family = families.get(name) ?? { name, type: 'untyped', help: undefined };
      families.set(name, family);
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail('second HELP');
        family.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest)) fail('unknown type');
        if (sampledFamilies.has(name)) fail('TYPE after samples');
        family.type = rest as PromFamily['type'];
      }
      return;
    }
    let rest = line;
    const nameMatch = METRIC_NAME.exec(rest);
    if (nameMatch === null) fail('no metric name');
    const name = nameMatch![0];
    rest = rest.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      for (;;) {
        rest = rest.replace(/^[ \t]+/, '');
        if (rest.startsWith('}')) break;
        const labelMatch = LABEL_NAME.exec(rest);
        if (labelMatch === null) fail('bad label name');
        const label = labelMatch![0];
        rest = rest.slice(label.length).replace(/^[ \t]+/, '');
        if (!rest.startsWith('="')) fail(`no ="… after label ${label}`);
        rest = rest.slice(2);
        let value = '';
        for (;;) {
          const c = rest.charAt(0);
          if (c === '') fail('unterminated label value');
          rest = rest.slice(1);
          if (c === '"') break;
          if (c === '\\') {
            const escaped = rest.charAt(0);
            rest = rest.slice(1);
            if (escaped === 'n') value += '\n';
            else if (escaped === '\\' || escaped === '"') value += escaped;
            else fail(`bad escape \\${escaped}`);
          } else {
            value += c;
          }
        }
        if (label in labels) fail(`duplicate label ${label}`);
        labels[label] = value;
        rest = rest.replace(/^[ \t]+/, '');
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}')) fail('expected , or }');
      }
      rest = rest.slice(1);
    }
    const fields = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2) fail('expected value [timestamp]');
    const value = parseValue(fields[0]!);
    if (value === undefined) fail('bad value');
    let timestampMs: number | undefined;
    if (fields[1] !== undefined) {
      if (!/^-?\d+$/.test(fields[1])) fail('bad timestamp');
      timestampMs = Number(fields[1]);
    }
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(series)) fail('duplicate series');
    seenSeries.add(series);
    sampledFamilies.add(familyOf(name, families));
    samples.push({ name, labels, value: value!, timestampMs });
  });
  return { families, samples };
}

/** The family a sample belongs to: histogram and summary samples carry a suffix. */
function familyOf(name: string, families: ReadonlyMap<string, PromFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || type === 'summary') return base;
  }
  return name;
}

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The one sample of `name` whose labels include `labels`; throws when there is none or several. */
export function sampleValue(
  scrape: PromScrape,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const matches = scrape.samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matches.length !== 1) {
    throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  }
  return matches[0]!.value;
}
