/**
 * The log destination: lines of a short window go out in one write, a quiet process's line goes out
 * after that window, nothing is lost or reordered, a full bound drops and counts, and pending lines are
 * written synchronously when asked (as at exit). Real files and a real pipe (child process), no fakes.
 */
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineDestination } from '../../observability/log-destination.ts';
import { createLogger } from '../../observability/logger.ts';

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'log-destination-'));
  dirs.push(dir);
  return path.join(dir, 'out.log');
};
const turn = () => new Promise((resolve) => setImmediate(resolve));
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the log destination', () => {
  it('writes the lines of one window in one write, in order', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 1 << 20);
    const writes = vi.spyOn(fs, 'write');
    // Requests finish a few per event-loop turn: lines of successive turns share the write.
    for (let i = 0; i < 50; i++) {
      destination.write(`{"n":${i}}\n`);
      if (i % 5 === 4) await turn();
    }
    await until(() => readFileSync(file, 'utf8').split('\n').length === 51);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(readFileSync(file, 'utf8')).toBe(Array.from({ length: 50 }, (_, i) => `{"n":${i}}\n`).join(''));
    destination.end();
  });

  it('writes a lone line within the window, and lines arriving during a write in the next one', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 1 << 20);
    destination.write('first\n');
    await until(() => readFileSync(file, 'utf8') === 'first\n');
    destination.write('second\n');
    await turn();
    destination.write('third\n');
    await until(() => readFileSync(file, 'utf8') === 'first\nsecond\nthird\n');
    destination.end();
  });

  it('writes a window larger than its chunks whole and in order: long lines, UTF-8, a line longer than a chunk', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 8 << 20);
    const writes = vi.spyOn(fs, 'write');
    const lines = [
      ...Array.from({ length: 300 }, (_, i) => `{"n":${i},"text":"${'é€😀'.repeat(50)}${'x'.repeat(i)}"}\n`),
      `{"long":"${'y'.repeat(200_000)}"}\n`,
      'last ü\n',
    ];
    for (const line of lines) destination.write(line);
    const expected = lines.join('');
    await until(() => readFileSync(file, 'utf8').length === expected.length);
    expect(readFileSync(file, 'utf8')).toBe(expected);
    expect(writes).toHaveBeenCalledTimes(1);
    destination.end();
  });

  it('keeps nothing of a dropped line: the next line takes its place', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 12);
    destination.write('0123456789\n');
    destination.write('dropped, over the bound\n');
    destination.write('ok\n'); // 11 + 3 bytes: over the bound too
    expect(destination.dropped).toBe(2);
    await until(() => readFileSync(file, 'utf8') === '0123456789\n');
    destination.write('é\n');
    await until(() => readFileSync(file, 'utf8') === '0123456789\né\n');
    destination.end();
  });

  it('drops and counts lines beyond its bound instead of holding them', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 20);
    destination.write('0123456789\n');
    destination.write('0123456789\n'); // 22 characters pending: over the bound of 20
    destination.write('abc\n');
    expect(destination.dropped).toBe(1);
    await until(() => readFileSync(file, 'utf8') === '0123456789\nabc\n');
    destination.end();
  });

  it('writes what is pending synchronously on flushSync', () => {
    const file = tempFile();
    const destination = new LineDestination(file, 1 << 20);
    destination.write('a\n');
    destination.write('b\n');
    destination.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('a\nb\n');
    destination.end();
  });

  it("carries a process's last lines through a pipe when it exits right after logging", () => {
    // The child logs 2,000 lines through pino into stdout (a pipe here) and exits at once.
    const script = `
      import { createLogger } from './observability/logger.ts';
      const logger = createLogger({ level: 'info' });
      for (let i = 0; i < 2000; i++) logger.info({ n: i }, 'line');
      process.exit(0);
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { n: number; msg: string });
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('is what createLogger writes to by default: pino lines, secrets redacted', async () => {
    const file = tempFile();
    const destination = new LineDestination(file, 1 << 20);
    const logger = createLogger({ level: 'info', destination });
    logger.info({ event: 'x', authorization: 'Bearer sk-live-123' }, 'hello');
    await until(() => readFileSync(file, 'utf8').endsWith('\n'));
    const line = JSON.parse(readFileSync(file, 'utf8'));
    expect(line).toMatchObject({ event: 'x', msg: 'hello', authorization: '[redacted]' });
    destination.end();
  });
});
