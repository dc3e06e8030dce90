/**
 * The measured server processes run the code as it ships: compiled by tsc with the build's settings
 * (tsconfig.bench.json is tsconfig.build.json plus bench/servers), as the image runs dist/, not through
 * tsx. tsx transpiles with esbuild's keepNames, which wraps every function expression in a
 * `__name(fn, "name")` call, an Object.defineProperty each time a closure is made: on the request path
 * that is a cost production does not pay (about 5% of ext-proc's CPU per chat request, A/B on one
 * machine), and it would be measured as ours. Compiled output also keeps the source's line numbers, so
 * `--cpu-prof` profiles point at real lines.
 *
 * The build is incremental and runs once per bench process, before the first server starts.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = path.join(ROOT, 'tsconfig.bench.json');
/** tsconfig.bench.json's outDir, with rootDir the repository (tsconfig.build.json). */
const OUT_DIR = path.join(ROOT, 'node_modules/.cache/agent-router-bench');

let built = false;

function build(): void {
  if (built) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', CONFIG], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`tsc -p tsconfig.bench.json failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
  built = true;
}

/** The compiled module of a source file under the repository (a bench/servers entry), built if need be. */
export function compiledEntry(source: string): string {
  const relative = path.relative(ROOT, source);
  if (relative.startsWith('..') || !relative.endsWith('.ts'))
    throw new Error(`${source} is not a TypeScript file of this repository`);
  build();
  return path.join(OUT_DIR, `${relative.slice(0, -'.ts'.length)}.js`);
}
