import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffLines, splitLines, unifiedDiff } from '../../config/line-diff.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GNU diff's own output for the same two texts, without its timestamped header. */
function gnuDiff(a: string, b: string): string {
  writeFileSync(path.join(dir, 'a'), a);
  writeFileSync(path.join(dir, 'b'), b);
  const out = spawnSync('diff', ['-u', '--label', 'a/x.yaml', '--label', 'b/x.yaml', 'a', 'b'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return out.stdout;
}

/** Deterministic pseudo-random texts over a small alphabet of lines, so that lines repeat. */
function texts(seed: number): [string, string] {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
  const a = Array.from({ length: 5 + rand(30) }, () => `line ${rand(8)}`);
  const b = a.flatMap((l) => {
    const r = rand(10);
    return r === 0 ? [] : r === 1 ? [l, `new ${rand(5)}`] : r === 2 ? [`changed ${rand(5)}`] : [l];
  });
  return [`${a.join('\n')}\n`, `${b.join('\n')}\n`];
}

describe('line diff', () => {
  it('is an edit script that turns the first text into the second', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const [a, b] = texts(seed).map(splitLines) as [string[], string[]];
      const rebuilt = diffLines(a, b).flatMap((o) => (o.op === 'del' ? [] : [b[o.b]!]));
      expect(rebuilt).toEqual(b);
      const kept = diffLines(a, b).flatMap((o) => (o.op === 'add' ? [] : [a[o.a]!]));
      expect(kept).toEqual(a);
    }
  });

  it('changes as few lines as GNU diff does', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const [a, b] = texts(seed);
      const ours = unifiedDiff(splitLines(a), splitLines(b), { fromFile: 'a/x.yaml', toFile: 'b/x.yaml' });
      const theirs = gnuDiff(a, b);
      const count = (d: string, c: string) =>
        d.split('\n').filter((l) => l.startsWith(c) && !l.startsWith(c.repeat(3))).length;
      expect(count(ours, '+') + count(ours, '-'), `seed ${seed}`).toBe(
        count(theirs, '+') + count(theirs, '-'),
      );
      expect(ours === '', `seed ${seed}`).toBe(theirs === '');
    }
  });

  it('prints a one-line change like diff -u', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const b = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(unifiedDiff(splitLines(a), splitLines(b), { fromFile: 'a/x.yaml', toFile: 'b/x.yaml' })).toBe(
      gnuDiff(a, b),
    );
  });
});
