import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';

describe('the test Prometheus text parser', () => {
  it('reads families, labels with escapes, special values and timestamps', () => {
    const scrape = parsePrometheusText(
      [
        '# HELP http_requests_total The total number of HTTP requests.',
        '# TYPE http_requests_total counter',
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400",} 3',
        '# a plain comment',
        '',
        'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
        'metric_without_labels 12.47',
        'odd{le="+Inf"} +Inf',
        'nan_metric NaN',
        'neg -Inf',
      ].join('\n') + '\n',
    );
    expect(scrape.families.get('http_requests_total')).toMatchObject({
      type: 'counter',
      help: 'The total number of HTTP requests.',
    });
    expect(scrape.samples[0]).toEqual({
      name: 'http_requests_total',
      labels: { method: 'post', code: '200' },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(sampleValue(scrape, 'http_requests_total', { code: '400' })).toBe(3);
    expect(scrape.samples[2]?.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(sampleValue(scrape, 'msdos_file_access_time_seconds')).toBe(1.458255915e9);
    expect(sampleValue(scrape, 'odd')).toBe(Number.POSITIVE_INFINITY);
    expect(sampleValue(scrape, 'nan_metric')).toBeNaN();
    expect(sampleValue(scrape, 'neg')).toBe(Number.NEGATIVE_INFINITY);
  });

  it.each([
    ['a value that is not a number', 'm 12a'],
    ['a missing value', 'm{a="b"}'],
    ['an unterminated label value', 'm{a="b} 1'],
    ['an unknown escape', 'm{a="\\t"} 1'],
    ['a duplicate series', 'm{a="b"} 1\nm{a="b"} 2'],
    ['a duplicate label', 'm{a="b",a="c"} 1'],
    ['a TYPE after samples', 'm 1\n# TYPE m gauge'],
    ['an unknown type', '# TYPE m thing'],
    ['a bad metric name', '1m 1'],
  ])('rejects %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
