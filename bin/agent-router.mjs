#!/usr/bin/env node
// In a checkout the CLI runs from its TypeScript sources, compiled in-process by tsx (a dev dependency),
// so there is no build step to forget. The image ships no sources and no tsx, only the compiled dist/
// (`npm run build`); e2e-kind/sim-pod.mjs starts `bin/agent-router.mjs sim` in it, so this entry runs
// dist/ wherever the sources are absent.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
