/**
 * The shape every fuzz target shares, so `npm test` (a fixed seed and case budget) and `npm run fuzz`
 * (a time budget) drive them alike and a failure can be replayed from its seed and case number.
 */
export interface FuzzOptions {
  /** Cases are drawn from this seed; the same seed and count replay the same cases. */
  seed: number;
  /** Stop after this many cases… */
  cases?: number;
  /** …or once this much time has passed, whichever comes first. */
  durationMs?: number;
  /** Stop at the first failing case (tests), or keep going and collect (deliberate runs). */
  stopOnFailure?: boolean;
  /** Replay: run only this case of the seed, and trace what was sent and answered (where supported). */
  only?: number;
  trace?: (line: string) => void;
}

export interface FuzzFailure {
  /** The case's index from the seed: replay with the same seed and `cases: index + 1`. */
  index: number;
  /** What the case sent, short enough to read (secrets replaced by their names). */
  input: string;
  problems: string[];
}

export interface FuzzReport {
  target: string;
  seed: number;
  cases: number;
  failures: FuzzFailure[];
  /** Invariants checked once the run is over (leaked streams, log lines), beyond each case's own. */
  finalProblems: string[];
}

export type FuzzTarget = (options: FuzzOptions) => Promise<FuzzReport>;

/** Whether a run with these options should draw another case. */
export function budgetLeft(options: FuzzOptions, done: number, startedAt: number): boolean {
  if (options.cases !== undefined && done >= options.cases) return false;
  if (options.durationMs !== undefined && performance.now() - startedAt >= options.durationMs) return false;
  return options.cases !== undefined || options.durationMs !== undefined;
}
