/**
 * The project runs on Node 24 LTS everywhere: npm scripts take the `node` binary the registry's `node`
 * package puts in node_modules/.bin (so a machine with any recent npm runs the same runtime), CI's
 * workflow sets up Node 24, and the engines field says so.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

describe('the runtime', () => {
  it('runs the tests on Node 24, the LTS line package.json pins', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(pkg.devDependencies.node).toMatch(/^24\.\d+\.\d+$/);
    expect(process.versions.node).toBe(pkg.devDependencies.node);
    expect(pkg.engines.node).toBe('>=24');
    // The node package installs its binary from a preinstall script.
    expect(pkg.allowScripts?.node).toBe(true);
  });

  it('sets up Node 24 in the kind workflow', () => {
    const workflow = parse(readFileSync('.github/workflows/e2e-kind.yml', 'utf8'));
    const steps = Object.values(
      workflow.jobs as Record<string, { steps: { uses?: string; with?: { 'node-version'?: unknown } }[] }>,
    ).flatMap((j) => j.steps);
    const setup = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(String(setup?.with?.['node-version'])).toMatch(/^24/);
  });
});
