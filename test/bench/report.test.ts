import { describe, expect, it } from 'vitest';
import { displayValue, jsonLine, report, table } from '../../bench/report.ts';

describe('benchmark report', () => {
  it('prints one JSON line per figure with bench, value and unit in that order', () => {
    expect(jsonLine({ name: 'ext-proc.chat.cpu-us', value: 412.37, unit: 'us' })).toBe(
      '{"bench":"ext-proc.chat.cpu-us","value":412.37,"unit":"us"}',
    );
  });

  it('keeps full precision in the JSON line while the table rounds for reading', () => {
    const result = { name: 'ext-proc.chat.cpu-ratio', value: 1.23456, unit: 'x-noop' };
    expect(JSON.parse(jsonLine(result)).value).toBe(1.23456);
    expect(displayValue(1.23456)).toBe('1.23');
    expect(displayValue(1234.56)).toBe('1235');
  });

  it('refuses a figure that is not a finite number, which JSON would turn into null', () => {
    expect(() => jsonLine({ name: 'x', value: Number.NaN, unit: 'us' })).toThrow(RangeError);
    expect(() => jsonLine({ name: 'x', value: Number.POSITIVE_INFINITY, unit: 'us' })).toThrow(RangeError);
  });

  it('aligns the table and follows it with the JSON lines, one per figure', () => {
    const results = [
      { name: 'ext-proc.chat.cpu-us', value: 412.4, unit: 'us' },
      { name: 'noop.chat.cpu-us', value: 300, unit: 'us' },
      { name: 'ext-proc.chat.cpu-ratio', value: 1.37, unit: 'x-noop' },
    ];
    expect(table(results).split('\n')).toEqual([
      'benchmark                value  unit',
      '-----------------------  -----  ------',
      'ext-proc.chat.cpu-us       412  us',
      'noop.chat.cpu-us           300  us',
      'ext-proc.chat.cpu-ratio   1.37  x-noop',
    ]);
    const jsonLines = report(results)
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(jsonLines.map((line) => JSON.parse(line))).toEqual(
      results.map((r) => ({ bench: r.name, value: r.value, unit: r.unit })),
    );
  });
});
