import type { BenchResult } from './report.ts';

export interface BenchOptions {
  /** Measured requests per round (`--requests N`); each benchmark picks its own default. */
  requests: number | undefined;
  /** Directory for `--cpu-prof` profiles of the measured server processes, when profiling. */
  cpuProfDir: string | undefined;
}

/** One benchmark module: runs on its own and returns its figures. `bench/run.ts` lists them. */
export interface Benchmark {
  name: string;
  run(options: BenchOptions): Promise<BenchResult[]>;
}
