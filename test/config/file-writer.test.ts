import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSnapshot, watchConfig } from '../../config/file-source.ts';
import { fileConfigWriter } from '../../config/file-writer.ts';
import { diffLines, splitLines } from '../../config/line-diff.ts';
import type { RouteConfigSpec } from '../../config/manifests.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import { SnapshotStore } from '../../config/store.ts';
import { findObjects, type Json, type StoredConfig } from '../../config/writer.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/local.yaml', import.meta.url));
const temps: string[] = [];
const closers: { close(): void }[] = [];

afterEach(() => {
  for (const c of closers.splice(0)) c.close();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary copy of examples/local.yaml: the repository's file is never written. */
function exampleCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-writer-'));
  temps.push(dir);
  const file = path.join(dir, 'local.yaml');
  copyFileSync(EXAMPLE, file);
  return file;
}

const routeConfig = (config: StoredConfig, name = 'default') => {
  const [found] = findObjects(config, 'RouteConfig', name);
  if (!found) throw new Error(`no RouteConfig ${name}`);
  return found;
};

/** A RouteConfig edit: `change` gets a copy of the spec to alter. */
const specEdit = (change: (spec: RouteConfigSpec) => void) => (current: StoredConfig) => {
  const rc = routeConfig(current);
  const object = structuredClone(rc.object) as Json & { spec: RouteConfigSpec };
  change(object.spec);
  return { changes: [{ op: 'replace' as const, target: rc, object }], result: undefined };
};

const setWeights = (stable: number, canary: number) =>
  specEdit((spec) => {
    spec.routes.find((r) => r.name === 'summarize-stable')!.weight = stable;
    spec.routes.find((r) => r.name === 'summarize-canary')!.weight = canary;
  });

/** The lines of `before` that `after` lost or gained. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  return {
    removed: ops.flatMap((o) => (o.op === 'del' ? [a[o.a]!] : [])),
    added: ops.flatMap((o) => (o.op === 'add' ? [b[o.b]!] : [])),
  };
}

describe('fileConfigWriter', () => {
  it('changes only the lines of the edited values, keeping every comment, flow map and key order', async () => {
    const file = exampleCopy();
    const before = readFileSync(file, 'utf8');
    const outcome = await fileConfigWriter(file, { supportedProviders }).edit(setWeights(80, 20));
    expect(outcome.problems).toEqual([]);
    expect(outcome.written).toBe(true);
    const after = readFileSync(file, 'utf8');
    expect(changedLines(before, after)).toEqual({
      removed: ['      weight: 95', '      weight: 5'],
      added: ['      weight: 80', '      weight: 20'],
    });
    // Lines the library would print differently (no padding inside [ ]) are the author's still.
    expect(after).toContain('    retryOn: [connect-failure, 5xx, 429, timeout]\n');
    expect(after).toContain('    # Canary: 95% stable, 5% candidate.\n');
  });

  it('diffs the edited RouteConfig only, with file line numbers', async () => {
    const file = exampleCopy();
    const before = splitLines(readFileSync(file, 'utf8'));
    const outcome = await fileConfigWriter(file, { supportedProviders }).edit(setWeights(50, 50), {
      dryRun: true,
    });
    const line = before.indexOf('      weight: 95') + 1;
    expect(outcome.diff).toContain(`--- a/local.yaml\n+++ b/local.yaml\n@@ -${line - 3},`);
    expect(outcome.diff).toContain('\n-      weight: 95\n+      weight: 50\n');
    expect(outcome.diff).not.toContain('sk-agent-router');
  });

  it('adds and removes route entries, keeping the comments of the entries that stay', async () => {
    const file = exampleCopy();
    const before = readFileSync(file, 'utf8');
    const writer = fileConfigWriter(file, { supportedProviders });
    const outcome = await writer.edit(
      specEdit((spec) => {
        spec.routes = spec.routes.filter((r) => r.name !== 'chat-fallback');
        spec.routes.push({
          name: 'qwen-direct',
          model: 'qwen',
          backendRef: { name: 'sim-qwen' },
          modelNameOverride: 'qwen2.5-7b-instruct',
        });
      }),
    );
    expect(outcome.problems).toEqual([]);
    const after = readFileSync(file, 'utf8');
    const { removed, added } = changedLines(before, after);
    expect(removed).toEqual([
      '    # Fallback when both A/B variants fail.',
      '    - name: chat-fallback',
      '      model: chat-model',
      '      backendRef: { name: sim-qwen }',
      '      modelNameOverride: qwen2.5-7b-instruct',
      '      priority: 1',
    ]);
    expect(added.join('\n')).toContain('- name: qwen-direct');
    expect(after).toContain('    # Self-hosted: the endpoint picker chooses the pod.\n');
    const rc = routeConfig(await writer.read());
    expect((rc.object.spec as RouteConfigSpec).routes.at(-1)).toEqual({
      name: 'qwen-direct',
      model: 'qwen',
      backendRef: { name: 'sim-qwen' },
      modelNameOverride: 'qwen2.5-7b-instruct',
    });
  });

  it('refuses an edit that would not load, naming the problem, and leaves the file as it was', async () => {
    const file = exampleCopy();
    const before = readFileSync(file, 'utf8');
    const outcome = await fileConfigWriter(file, { supportedProviders }).edit(
      specEdit((spec) => {
        spec.routes[1]!.backendRef = { name: 'no-such-backend' };
        spec.routes[2]!.weight = -1;
      }),
    );
    expect(outcome.written).toBe(false);
    expect(outcome.problems.map((p) => p.path)).toContain('spec.routes[2].weight');
    expect(readFileSync(file, 'utf8')).toBe(before);
    // With the structural problem fixed, the reference error (found by compile) shows.
    const unresolved = await fileConfigWriter(file, { supportedProviders }).edit(
      specEdit((spec) => {
        spec.routes[1]!.backendRef = { name: 'no-such-backend' };
      }),
    );
    expect(unresolved.written).toBe(false);
    expect(unresolved.problems.map((p) => `${p.path}: ${p.message}`).join('\n')).toContain('no-such-backend');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readdirSync(path.dirname(file))).toEqual(['local.yaml']);
  });

  it('appends new objects as documents of the file and the configuration loads them', async () => {
    const file = exampleCopy();
    const writer = fileConfigWriter(file, { supportedProviders });
    await writer.edit(() => ({
      changes: [
        {
          op: 'create',
          object: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'apikey-new' },
            stringData: { 'api-key': 'sk-new-key-material' },
          },
        },
        {
          op: 'create',
          object: {
            apiVersion: 'agentrouter.dev/v1alpha1',
            kind: 'APIKey',
            metadata: { name: 'new' },
            spec: { secretRef: { name: 'apikey-new', key: 'api-key' }, routeConfigRef: { name: 'default' } },
          },
        },
      ],
      result: undefined,
    }));
    const snapshot = loadSnapshot(file, { supportedProviders });
    expect(snapshot.keysById.get('default/new')?.routeConfig.id).toBe('default/default');
    expect(readFileSync(file, 'utf8').startsWith(readFileSync(EXAMPLE, 'utf8'))).toBe(true);
  });

  it('is followed by the running configuration through the file watch', async () => {
    const file = exampleCopy();
    const store = new SnapshotStore(loadSnapshot(file, { supportedProviders }));
    const rejected: Error[] = [];
    closers.push(
      watchConfig(
        file,
        { supportedProviders },
        { onSnapshot: (s) => store.replace(s), onRejected: (e) => rejected.push(e) },
        { debounceMs: 20, settleMs: 50 },
      ),
    );
    const weights = (s: Snapshot) =>
      s.routeConfigs
        .get('default/default')!
        .models.get('summarize-model')!
        .split!.entries.map((e) => [e.name, e.weight]);
    expect(weights(store.current)).toEqual([
      ['summarize-stable', 95],
      ['summarize-canary', 5],
    ]);
    await fileConfigWriter(file, { supportedProviders }).edit(setWeights(50, 50));
    const deadline = Date.now() + 10_000;
    while (weights(store.current)[0]![1] !== 50 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(weights(store.current)).toEqual([
      ['summarize-stable', 50],
      ['summarize-canary', 50],
    ]);
    expect(rejected).toEqual([]);
  });

  it('runs edits one after another, each planned against what the previous one wrote', async () => {
    const file = exampleCopy();
    const writer = fileConfigWriter(file, { supportedProviders });
    const seen: number[] = [];
    const bump = specEdit((spec) => {
      const canary = spec.routes.find((r) => r.name === 'summarize-canary')!;
      seen.push(canary.weight!);
      canary.weight = canary.weight! + 1;
    });
    await Promise.all([writer.edit(bump), writer.edit(bump), writer.edit(bump)]);
    expect(seen).toEqual([5, 6, 7]);
    expect(readFileSync(file, 'utf8')).toContain('      weight: 8\n');
  });

  it('edits the file that holds the object when the target is a folder', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-writer-dir-'));
    temps.push(dir);
    const text = readFileSync(EXAMPLE, 'utf8');
    const split = text.indexOf('---\napiVersion: agentrouter.dev/v1alpha1\nkind: RouteConfig');
    writeFileSync(path.join(dir, 'a.yaml'), text.slice(0, split));
    writeFileSync(path.join(dir, 'b.yaml'), text.slice(split));
    const outcome = await fileConfigWriter(dir, { supportedProviders }).edit(setWeights(80, 20));
    expect(outcome.problems).toEqual([]);
    expect(readFileSync(path.join(dir, 'a.yaml'), 'utf8')).toBe(text.slice(0, split));
    expect(readFileSync(path.join(dir, 'b.yaml'), 'utf8')).toContain('      weight: 80\n');
  });
});
