/**
 * Line diffs of configuration text: the edit script between two texts (a longest common subsequence of
 * lines, after the common head and tail are set aside, which is all a config edit usually leaves), and
 * its unified-diff rendering (`diff -u`), which the console shows before a save.
 */

export type LineOp =
  | { op: 'same'; a: number; b: number }
  | { op: 'del'; a: number }
  | { op: 'add'; b: number };

/** Beyond this many cells the middle is treated as one replaced block (a diff is still correct, only larger). */
const MAX_TABLE_CELLS = 16_000_000;

/** The edit script turning lines `a` into lines `b`, in order. */
export function diffLines(a: readonly string[], b: readonly string[]): LineOp[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const ops: LineOp[] = [];
  for (let i = 0; i < head; i++) ops.push({ op: 'same', a: i, b: i });
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n * m > MAX_TABLE_CELLS) {
    for (let i = 0; i < n; i++) ops.push({ op: 'del', a: head + i });
    for (let j = 0; j < m; j++) ops.push({ op: 'add', b: head + j });
  } else {
    // lcs[i][j]: the longest common subsequence of a[head+i…] and b[head+j…].
    const width = m + 1;
    const lcs = new Int32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * width + j] =
          a[head + i] === b[head + j]
            ? lcs[(i + 1) * width + j + 1]! + 1
            : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] === b[head + j]) {
        ops.push({ op: 'same', a: head + i++, b: head + j++ });
      } else if (i < n && (j === m || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        // Removals before additions, as diff -u prints a replaced line.
        ops.push({ op: 'del', a: head + i++ });
      } else {
        ops.push({ op: 'add', b: head + j++ });
      }
    }
  }
  for (let k = 0; k < tail; k++) ops.push({ op: 'same', a: a.length - tail + k, b: b.length - tail + k });
  return ops;
}

/** Splits text into lines without their terminators; a final newline ends the last line, it adds none. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface UnifiedDiffOptions {
  fromFile: string;
  toFile: string;
  /** Lines of context around each change (default 3, as `diff -u`). */
  context?: number;
  /** Added to every line number: the slices' first line in their files (0-based). */
  lineOffset?: number;
}

/** `diff -u` of two line lists; "" when they are equal. */
export function unifiedDiff(a: readonly string[], b: readonly string[], options: UnifiedDiffOptions): string {
  const context = options.context ?? 3;
  const offset = options.lineOffset ?? 0;
  const ops = diffLines(a, b);
  const changed = ops.map((o) => o.op !== 'same');
  if (!changed.includes(true)) return '';
  const out = [`--- ${options.fromFile}`, `+++ ${options.toFile}`];
  let k = 0;
  while (k < ops.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change that is
    // no more than 2 × context lines of sameness away.
    const start = Math.max(0, k - context);
    let end = k;
    let quiet = 0;
    for (let q = k; q < ops.length; q++) {
      if (changed[q]) {
        end = q;
        quiet = 0;
      } else if (++quiet > 2 * context) break;
    }
    const stop = Math.min(ops.length, end + context + 1);
    const hunk = ops.slice(start, stop);
    const aStart = firstLine(ops, start, 'a');
    const bStart = firstLine(ops, start, 'b');
    const aCount = hunk.filter((o) => o.op !== 'add').length;
    const bCount = hunk.filter((o) => o.op !== 'del').length;
    out.push(
      `@@ -${range(aStart + offset, aCount)} +${range(bStart + offset, bCount)} @@`,
      ...hunk.map((o) =>
        o.op === 'same' ? ` ${a[o.a]}` : o.op === 'del' ? `-${a[o.a]}` : `+${b[(o as { b: number }).b]}`,
      ),
    );
    k = stop;
  }
  return `${out.join('\n')}\n`;
}

/** The 0-based line of side `side` at op `index` (where the next line of that side would be). */
function firstLine(ops: readonly LineOp[], index: number, side: 'a' | 'b'): number {
  for (let q = index; q < ops.length; q++) {
    const o = ops[q] as { a?: number; b?: number };
    if (o[side] !== undefined) return o[side];
  }
  for (let q = index - 1; q >= 0; q--) {
    const o = ops[q] as { a?: number; b?: number };
    if (o[side] !== undefined) return o[side] + 1;
  }
  return 0;
}

/** `start,count` as diff -u writes it: 1-based, and the line before the hunk when it has no lines of that side. */
function range(start0: number, count: number): string {
  return count === 0 ? `${start0},0` : count === 1 ? `${start0 + 1}` : `${start0 + 1},${count}`;
}
