import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A configuration whose OpenAI backend reads its key from Secret "openai"; `secretField` is its data. */
function providerConfig(secretField: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: sk-watch-team-a-0001 }
---
apiVersion: v1
kind: Secret
metadata: { name: openai }
${secretField}
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec:
  provider: OpenAI
  credentials: { secretRef: { name: openai, key: api-key } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: chat }
spec:
  routes:
    - { name: main, model: chat-model, backendRef: { name: openai } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec:
  secretRef: { name: keys, key: team-a }
  routeConfigRef: { name: chat }
`;
}

const providerKey = (snapshot: Snapshot) => apiKeyOf(snapshot.backends.get('default/openai')?.credential);

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

  it.each([
    ['zero bytes', ''],
    ['only whitespace', '\n  \n'],
    ['only comments', '# nothing configured yet\n'],
    ['only document separators', '---\n---\n'],
  ])('refuses an empty file (%s) with a ConfigError naming the file', (_case, text) => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, text);
    expect(() => loadSnapshot(file)).toThrow(ConfigError);
    expect(readManifests(file).problems).toEqual([
      {
        source: file,
        document: 0,
        object: 'file',
        path: '',
        message: expect.stringMatching(/^holds no manifests .*kind: List, items: \[\]/),
      },
    ]);
    expect(() => loadSnapshot(file)).toThrow(`${file} file: holds no manifests`);
  });

  it('refuses an empty file in a folder, naming that file, though the others are fine', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, '10-base.yaml'), config('10'));
    writeFileSync(path.join(dir, '20-keys.yaml'), '');
    expect(readManifests(dir).problems).toEqual([
      expect.objectContaining({ source: path.join(dir, '20-keys.yaml'), object: 'file' }),
    ]);
  });

  it('loads a configuration declared empty on purpose with an empty v1 List', () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(
      file,
      '# Nothing is served until routes are added.\napiVersion: v1\nkind: List\nitems: []\n',
    );
    const snapshot = loadSnapshot(file);
    expect(snapshot.routeConfigs.size).toBe(0);
    expect(snapshot.keysByHash.size).toBe(0);
  });

  it('refuses a List that holds items: objects are documents of their own', () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, `${config('10')}---\napiVersion: v1\nkind: List\nitems: [{ kind: Secret }]\n`);
    expect(readManifests(file).problems).toEqual([
      expect.objectContaining({ source: file, document: 5, object: 'List', path: 'items' }),
    ]);
  });

  it('refuses a configuration with nothing to serve, as a write cut after the Secrets and backends leaves it', () => {
    const file = path.join(tempDir(), 'config.yaml');
    const cut = config('10').split('---\n').slice(0, 2).join('---\n');
    writeFileSync(file, cut);
    expect(() => loadSnapshot(file)).toThrow(
      `${file} configuration: defines nothing to serve: no RouteConfig and no InferencePool (it holds 1 Secret, 1 ProviderBackend)`,
    );
    // Said on purpose, the same objects load.
    writeFileSync(file, `${cut}---\napiVersion: v1\nkind: List\nitems: []\n`);
    expect(loadSnapshot(file).backends.has('default/vllm')).toBe(true);
  });

  it.each([
    [
      'not base64 at all',
      'sk-plain-text-key',
      /^is not valid base64: a URL-safe base64 character .* at offset 2/,
    ],
    [
      'missing padding',
      b64('sk-provider-0002').replace(/=+$/, ''),
      /^is not valid base64: 22 characters, not a multiple of 4/,
    ],
    [
      'too much padding',
      `${b64('sk-provider-0002')}=`,
      /^is not valid base64: a "=" that is not end padding at offset 24/,
    ],
    [
      'a space',
      `${b64('sk-provider-0002').slice(0, 8)} ${b64('sk-provider-0002').slice(8)}`,
      /a space or tab at offset 8/,
    ],
  ])(
    'refuses Secret data that the API server would refuse (%s), naming file, document, Secret and key',
    (_case, data, message) => {
      const file = path.join(tempDir(), 'config.yaml');
      writeFileSync(file, providerConfig(`data: { api-key: "${data}" }`));
      expect(readManifests(file).problems).toEqual([
        {
          source: file,
          document: 2,
          object: 'Secret openai',
          path: 'data[api-key]',
          message: expect.stringMatching(message),
        },
      ]);
      expect(() => loadSnapshot(file)).toThrow(
        `${file} (document 2) Secret openai: data[api-key]: is not valid base64`,
      );
    },
  );

  it('reads Secret data as the API server does: line breaks inside the base64 are skipped', () => {
    const file = path.join(tempDir(), 'config.yaml');
    const encoded = b64('sk-provider-0002');
    writeFileSync(
      file,
      providerConfig(`data:\n  api-key: |\n    ${encoded.slice(0, 12)}\n    ${encoded.slice(12)}`),
    );
    expect(apiKeyOf(loadSnapshot(file).backends.get('default/openai')?.credential)).toBe('sk-provider-0002');
  });

  it.each([
    [
      'a trailing newline in data',
      `data: { api-key: "${b64('sk-provider-0002\n')}" }`,
      /holds a line feed \(U\+000A\) at offset 16 \(a trailing newline/,
    ],
    [
      'a carriage return in stringData',
      'stringData: { api-key: "sk-provider\\r0002" }',
      /holds a carriage return \(U\+000D\) at offset 11/,
    ],
    ['a NUL in stringData', 'stringData: { api-key: "sk-provider\\x000002" }', /holds a NUL \(U\+0000\)/],
  ])(
    'refuses a provider key holding what no header can carry (%s), on the backend that uses it',
    (_case, field, message) => {
      const file = path.join(tempDir(), 'config.yaml');
      writeFileSync(file, providerConfig(field));
      let error: unknown;
      try {
        loadSnapshot(file);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        {
          source: file,
          document: 3,
          object: 'ProviderBackend openai',
          path: 'spec.credentials.secretRef',
          message: expect.stringMatching(message),
        },
      ]);
      expect((error as ConfigError).message).toContain('Secret "openai" key "api-key" holds');
    },
  );

  it('refuses a gateway key holding a line feed, on the APIKey that uses it', () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(
      file,
      config('10').replace('team-a: sk-watch-team-a-0001', 'team-a: "sk-watch-team-a-0001\\n"'),
    );
    expect(() => loadSnapshot(file)).toThrow(
      `${file} (document 4) APIKey team-a: spec.secretRef: Secret "keys" key "team-a" holds a line feed (U+000A) at offset 20`,
    );
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

  it.each([
    ['zero bytes', ''],
    ['only comments', '# emptied by mistake\n'],
    ['only ---', '---\n'],
  ])(
    'refuses an emptied file (%s) with a ConfigError naming it, and delivers no snapshot',
    async (_case, text) => {
      const file = path.join(tempDir(), 'config.yaml');
      writeFileSync(file, config('10'));
      const events = watchFile(file);

      writeFileSync(file, text);
      await waitFor(() => events.length >= 1, 'the reload of the emptied file');
      expect(events.map((e) => e.kind)).toEqual(['rejected']);
      const error = events[0]?.kind === 'rejected' ? events[0].error : undefined;
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.objectContaining({
          source: file,
          object: 'file',
          message: expect.stringContaining('holds no manifests'),
        }),
      ]);

      // Filled again, it applies.
      writeFileSync(file, config('30'));
      await waitFor(() => events.some((e) => e.kind === 'snapshot'), 'the refilled snapshot');
      expect(events.map((e) => e.kind)).toEqual(['rejected', 'snapshot']);
    },
  );

  it('applies a file emptied on purpose with an empty List', async () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, config('10'));
    const events = watchFile(file);

    replaceFile(file, 'apiVersion: v1\nkind: List\nitems: []\n');
    await waitFor(() => events.length >= 1, 'the reload');
    expect(events[0]?.kind === 'snapshot' && events[0].snapshot.keysById.size).toBe(0);
  });

  it('does not apply a file caught mid-write: truncated, written in part at a document boundary, then completed', async () => {
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, config('10'));
    const events = watchFile(file);
    const full = config('20');
    // Secret, backend and RouteConfig, without the APIKey: valid on its own, and it would lock team-a out.
    const cut = full.indexOf('---\napiVersion: agentrouter.dev/v1alpha1\nkind: APIKey');
    const pause = () => new Promise((resolve) => setTimeout(resolve, 200));

    // As a shell `>` redirection of a slow writer does it: truncate, pause, write, pause, write.
    const fd = openSync(file, 'w');
    try {
      await pause();
      writeSync(fd, full.slice(0, cut));
      await pause();
      writeSync(fd, full.slice(cut));
    } finally {
      closeSync(fd);
    }
    await waitFor(() => events.length >= 1, 'the reload');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events.map((e) => e.kind)).toEqual(['snapshot']);
    const applied = events[0]?.kind === 'snapshot' ? events[0].snapshot : undefined;
    expect(applied && canaryWeight(applied)).toBe(20);
    expect(applied?.keysById.has('default/team-a')).toBe(true);
  });

  it.each([
    [
      'data that is not base64',
      'data: { api-key: "sk-provider-0002" }',
      'Secret openai',
      'data[api-key]',
      'is not valid base64',
    ],
    [
      'data with invalid padding',
      `data: { api-key: "${b64('sk-provider-0002').slice(0, -1)}" }`,
      'Secret openai',
      'data[api-key]',
      'not a multiple of 4',
    ],
    [
      'a key with CR/LF',
      `data: { api-key: "${b64('sk-provider-0002\r\n')}" }`,
      'ProviderBackend openai',
      'spec.credentials.secretRef',
      'holds a carriage return',
    ],
  ])(
    'refuses a Secret edit with %s, naming it, and keeps the last good credential',
    async (_case, field, object, fieldPath, message) => {
      const file = path.join(tempDir(), 'config.yaml');
      writeFileSync(file, providerConfig(`data: { api-key: "${b64('sk-provider-0001')}" }`));
      expect(providerKey(loadSnapshot(file))).toBe('sk-provider-0001');
      const events = watchFile(file);

      replaceFile(file, providerConfig(field));
      await waitFor(() => events.length >= 1, 'the reload of the bad Secret');
      expect(events.map((e) => e.kind)).toEqual(['rejected']);
      const error = events[0]?.kind === 'rejected' ? events[0].error : undefined;
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.objectContaining({
          source: file,
          object,
          path: fieldPath,
          message: expect.stringContaining(message),
        }),
      ]);

      replaceFile(file, providerConfig(`data: { api-key: "${b64('sk-provider-0003')}" }`));
      await waitFor(() => events.some((e) => e.kind === 'snapshot'), 'the fixed Secret');
      const fixed = events.find((e) => e.kind === 'snapshot');
      expect(fixed?.kind === 'snapshot' && providerKey(fixed.snapshot)).toBe('sk-provider-0003');
    },
  );

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
