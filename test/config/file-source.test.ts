import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { configFiles, loadSnapshot, readManifests, watchConfig } from '../../config/file-source.ts';
import { ConfigError } from '../../config/problems.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import { apiKeyOf } from '../../ext-proc/translate/translator.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

const temps: string[] = [];
const closers: { close(): void }[] = [];

afterEach(() => {
  for (const watcher of closers.splice(0)) watcher.close();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-config-'));
  temps.push(dir);
  return dir;
}

/** Replaces a file the way many editors save: write a sibling, then rename it over the target. */
function replaceFile(file: string, text: string): void {
  const sibling = `${file}.saving`;
  writeFileSync(sibling, text);
  renameSync(sibling, file);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function config(canaryWeight: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: sk-watch-team-a-0001 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: vllm }
spec: { provider: OpenAICompatible, baseURL: "http://127.0.0.1:8000/v1" }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: chat }
spec:
  routes:
    - name: stable
      model: chat-model
      backendRef: { name: vllm }
      weight: 90
    - name: canary
      model: chat-model
      backendRef: { name: vllm }
      weight: ${canaryWeight}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec:
  secretRef: { name: keys, key: team-a }
  routeConfigRef: { name: chat }
`;
}

const canaryWeight = (snapshot: Snapshot) => snapshot.entries.get('default/chat/canary')?.weight;

describe('readManifests', () => {
  it('reports a YAML syntax error with file, document, line and column, and keeps the other documents', () => {
    // Written at test time: a broken YAML file under test/fixtures would fail the repository's lint.
    const file = path.join(tempDir(), 'broken.yaml');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Secret
metadata: { name: fine }
stringData: { api-key: sk-fine-0000 }
---
apiVersion: v1
kind: Secret
metadata:
  name: broken
 stringData: { api-key: sk-broken }
`,
    );
    const { manifests, problems } = readManifests(file);
    expect(manifests.map((m) => m.manifest.metadata.name)).toEqual(['fine']);
    expect(problems).toEqual([
      {
        source: file,
        document: 2,
        object: 'document',
        path: '',
        message: expect.stringMatching(/^YAML syntax error at line 10, column 1: /),
      },
    ]);
  });

  it('reports a duplicate mapping key with its line and column', () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Secret\nkind: Secret\nmetadata: { name: s }\n');
    expect(readManifests(file).problems).toEqual([
      expect.objectContaining({
        source: file,
        document: 1,
        message: expect.stringMatching(/^YAML syntax error at line 3, column 1: Map keys must be unique/),
      }),
    ]);
  });

  it('reports an unresolved YAML alias as a problem with file and document, not as a thrown error', () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Secret
metadata: { name: fine }
stringData: { api-key: sk-fine-0000 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: vllm }
spec: *backend-defaults
`,
    );
    let result: ReturnType<typeof readManifests> | undefined;
    expect(() => {
      result = readManifests(file);
    }).not.toThrow();
    expect(result?.manifests.map((m) => m.manifest.metadata.name)).toEqual(['fine']);
    expect(result?.problems).toEqual([
      expect.objectContaining({
        source: file,
        document: 2,
        message: expect.stringContaining('backend-defaults'),
      }),
    ]);
  });

  it('names file, document and field path of every structural problem', () => {
    const file = fixture('problems.yaml');
    const { manifests, problems } = readManifests(file);
    expect(manifests.map((m) => m.manifest.kind)).toEqual(['Secret']);
    expect(problems.map((p) => [p.source, p.document, p.object, p.path])).toEqual([
      [file, 2, 'RouteConfig chat', 'spec.routes[1].weight'],
      [file, 3, 'RoutingRule legacy', 'kind'],
      [file, 4, 'ProviderBackend openai', 'apiVersion'],
    ]);
  });

  it('reads every YAML file of a folder in name order, numbering documents per file and skipping empty ones', () => {
    const folder = fixture('folder');
    const { manifests, problems } = readManifests(folder);
    expect(problems).toEqual([]);
    expect(
      manifests.map((m) => [path.basename(m.origin.source), m.origin.document, m.manifest.kind]),
    ).toEqual([
      ['10-secrets.yaml', 1, 'Secret'],
      ['10-secrets.yaml', 2, 'Secret'],
      ['20-backends.yml', 1, 'ProviderBackend'],
      ['20-backends.yml', 2, 'ProviderBackend'],
      ['30-routes.yaml', 1, 'RouteConfig'],
      ['30-routes.yaml', 3, 'APIKey'],
    ]);
    expect(configFiles(folder).map((f) => path.basename(f))).toEqual([
      '10-secrets.yaml',
      '20-backends.yml',
      '30-routes.yaml',
    ]);
  });
});

describe('loadSnapshot', () => {
  it('loads and compiles a folder of several YAML files', () => {
    const snapshot = loadSnapshot(fixture('folder'), { version: 3 });
    expect(snapshot.version).toBe(3);
    const key = snapshot.keysByHash.get(sha256Hex('sk-folder-team-a-0001'));
    expect(key?.id).toBe('default/team-a');
    expect(key?.attributes).toEqual({ tenant: 'team-a' });
    expect(apiKeyOf(snapshot.backends.get('default/openai')?.credential)).toBe('sk-folder-openai-provider');
    const chat = snapshot.routeConfigs.get('default/chat');
    expect(chat?.fallback).toEqual({
      attempts: 2,
      retryOn: new Set(['5xx', '429']),
      perAttemptTimeoutMs: 20_000,
    });
    expect(
      chat?.models.get('chat-model')?.split?.entries.map((e) => [e.name, e.weight, e.resolvedModel]),
    ).toEqual([
      ['stable', 95, 'gpt-4o-mini'],
      ['canary', 5, 'llama-3.1-8b-instruct'],
    ]);
    expect(snapshot.entries.get('default/chat/stable')?.fallbackChain.map((e) => e.name)).toEqual([
      'stable',
      'fallback',
    ]);
  });

  it('throws a ConfigError naming every structural problem', () => {
    const file = fixture('problems.yaml');
    let error: unknown;
    try {
      loadSnapshot(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toHaveLength(3);
    expect(message).toContain(
      `${file} (document 2) RouteConfig chat: spec.routes[1].weight: must be an integer`,
    );
    expect(message).toContain(
      `${file} (document 3) RoutingRule legacy: kind: unsupported kind "RoutingRule"`,
    );
    expect(message).toContain(
      `${file} (document 4) ProviderBackend openai: apiVersion: must be agentrouter.dev/v1alpha1`,
    );
  });

  it('throws a ConfigError for problems only compile can see', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, config('10').replace('name: vllm }', 'name: other }'));
    expect(() => loadSnapshot(file)).toThrow(ConfigError);
    expect(() => loadSnapshot(file)).toThrow(
      `${file} (document 3) RouteConfig chat: spec.routes[0].backendRef.name: ProviderBackend "vllm" not found`,
    );
  });

  it('rejects a backend whose provider the build does not support', () => {
    expect(() =>
      loadSnapshot(fixture('folder'), { supportedProviders: new Set(['OpenAICompatible']) }),
    ).toThrow(
      /20-backends\.yml \(document 1\) ProviderBackend openai: spec\.provider: provider OpenAI is not supported/,
    );
  });

  it('loads an empty file as an empty snapshot', () => {
    const file = path.join(tempDir(), 'empty.yaml');
    writeFileSync(file, '# nothing configured yet\n');
    const snapshot = loadSnapshot(file);
    expect(snapshot.routeConfigs.size).toBe(0);
    expect(snapshot.keysByHash.size).toBe(0);
  });
});

describe('watchConfig', () => {
  function watchFile(file: string) {
    const events: ({ kind: 'snapshot'; snapshot: Snapshot } | { kind: 'rejected'; error: Error })[] = [];
    closers.push(
      watchConfig(
        file,
        { version: 1 },
        {
          onSnapshot: (snapshot) => events.push({ kind: 'snapshot', snapshot }),
          onRejected: (error) => events.push({ kind: 'rejected', error }),
        },
      ),
    );
    return events;
  }

  it('delivers a valid edit as a snapshot with a higher version', async () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, config('10'));
    expect(canaryWeight(loadSnapshot(file, { version: 1 }))).toBe(10);
    const events = watchFile(file);

    writeFileSync(file, config('20'));
    await waitFor(
      () => events.some((e) => e.kind === 'snapshot' && canaryWeight(e.snapshot) === 20),
      'the edited snapshot',
    );
    const delivered = events.find((e) => e.kind === 'snapshot' && canaryWeight(e.snapshot) === 20);
    expect(delivered?.kind === 'snapshot' && delivered.snapshot.version).toBeGreaterThan(1);
    expect(events.filter((e) => e.kind === 'rejected')).toEqual([]);
  });

  it('rejects an invalid edit with a ConfigError naming the field, without delivering a snapshot', async () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, config('10'));
    const events = watchFile(file);

    replaceFile(file, config('20'));
    await waitFor(() => events.length >= 1, 'the first reload');
    replaceFile(file, config('-3'));
    await waitFor(() => events.some((e) => e.kind === 'rejected'), 'the rejection');
    // A later valid edit still applies; nothing was delivered between it and the rejection.
    replaceFile(file, config('30'));
    await waitFor(
      () => events.some((e) => e.kind === 'snapshot' && canaryWeight(e.snapshot) === 30),
      'the recovered snapshot',
    );

    expect(events.map((e) => e.kind)).toEqual(['snapshot', 'rejected', 'snapshot']);
    const [first, rejected, last] = events;
    expect(first?.kind === 'snapshot' && canaryWeight(first.snapshot)).toBe(20);
    const error = rejected?.kind === 'rejected' ? rejected.error : undefined;
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.objectContaining({
        source: file,
        document: 3,
        object: 'RouteConfig chat',
        path: 'spec.routes[1].weight',
      }),
    ]);
    expect(error?.message).toContain('spec.routes[1].weight');
    if (first?.kind === 'snapshot' && last?.kind === 'snapshot') {
      expect(last.snapshot.version).toBeGreaterThan(first.snapshot.version);
    }
  });

  it('reloads a folder when a file in it is added', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'base.yaml'), config('10'));
    const events = watchFile(dir);

    replaceFile(
      path.join(dir, 'keys.yaml'),
      `apiVersion: v1
kind: Secret
metadata: { name: more-keys }
stringData: { team-b: sk-watch-team-b-0002 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-b }
spec:
  secretRef: { name: more-keys, key: team-b }
  routeConfigRef: { name: chat }
`,
    );
    await waitFor(
      () => events.some((e) => e.kind === 'snapshot' && e.snapshot.keysById.has('default/team-b')),
      'the snapshot with the new key',
    );
    expect(events.filter((e) => e.kind === 'rejected')).toEqual([]);
  });
});
