/**
 * The world the HTTP fuzz target runs in: one fake provider per backend (six provider schemas), a
 * RouteConfig that exercises overrides, a weighted split, a policy route and a fallback chain, gateway
 * keys of every state, all secrets random per run, and the real local stack (dev gateway + ext-proc over
 * loopback gRPC, admin port for /metrics) started on that configuration from a temp YAML file.
 *
 * The route table here is also the fuzz target's expectation: what each logical name may resolve to,
 * per attempt, is read from `ROUTES`, not from the compiled snapshot, so a compile or routing bug shows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type LocalStack, startLocalStack } from '../../cli/local-stack.ts';
import { createLogger } from '../../observability/logger.ts';
import { type FakeFormat, type FakeProvider, startFakeProvider } from './providers.ts';

export const NAMESPACE = 'default';
export const BODY_LIMIT = 64 * 1024;

export interface BackendSpec {
  name: string;
  provider: 'OpenAI' | 'OpenAICompatible' | 'Anthropic' | 'Gemini' | 'AzureOpenAI' | 'Mistral';
  format: FakeFormat;
  /** Appended to the fake's origin to make the backend's baseURL. */
  basePath: string;
}

export const BACKENDS: readonly BackendSpec[] = [
  { name: 'openai', provider: 'OpenAI', format: 'openai', basePath: '/v1' },
  { name: 'compat-a', provider: 'OpenAICompatible', format: 'openai', basePath: '/v1' },
  { name: 'compat-b', provider: 'OpenAICompatible', format: 'openai', basePath: '/v1' },
  { name: 'sovereign', provider: 'OpenAICompatible', format: 'openai', basePath: '/v1' },
  { name: 'claude', provider: 'Anthropic', format: 'anthropic', basePath: '' },
  { name: 'gemini', provider: 'Gemini', format: 'gemini', basePath: '' },
  { name: 'azure', provider: 'AzureOpenAI', format: 'azure', basePath: '' },
  { name: 'mistral', provider: 'Mistral', format: 'mistral', basePath: '/v1' },
];

export interface EntrySpec {
  name: string;
  backend: string;
  resolvedModel: string;
  weight?: number;
  priority?: number;
  /** A policy entry: matches this header value exactly. */
  matchHeader?: { name: string; value: string };
}

/** Logical model → its entries, in declaration order. */
export const ROUTES: Readonly<Record<string, readonly EntrySpec[]>> = {
  // A logical name that is itself a real model id: the override must win (issue 10, defect 1).
  'gpt-4o': [{ name: 'gpt-4o', backend: 'openai', resolvedModel: 'gpt-4o-mini' }],
  chat: [
    {
      name: 'chat-regulated',
      backend: 'sovereign',
      resolvedModel: 'llama-3.1-8b-eu',
      matchHeader: { name: 'x-data-class', value: 'regulated' },
    },
    { name: 'chat-a', backend: 'compat-a', resolvedModel: 'llama-3.1-8b-instruct', weight: 70 },
    { name: 'chat-b', backend: 'claude', resolvedModel: 'claude-sonnet-4-5', weight: 30 },
    { name: 'chat-fallback', backend: 'mistral', resolvedModel: 'mistral-small-latest', priority: 1 },
  ],
  // A fallback chain across three provider schemas.
  chain: [
    { name: 'chain-1', backend: 'gemini', resolvedModel: 'gemini-2.5-flash' },
    { name: 'chain-2', backend: 'azure', resolvedModel: 'gpt-4o-prod', priority: 1 },
    { name: 'chain-3', backend: 'compat-b', resolvedModel: 'qwen2.5-7b-instruct', priority: 2 },
  ],
  claude: [{ name: 'claude', backend: 'claude', resolvedModel: 'claude-haiku-4-5' }],
  'gemini-pro': [{ name: 'gemini-pro', backend: 'gemini', resolvedModel: 'gemini-2.5-pro' }],
  'azure-chat': [{ name: 'azure-chat', backend: 'azure', resolvedModel: 'gpt-4o-deployment' }],
  'mistral-large': [{ name: 'mistral-large', backend: 'mistral', resolvedModel: 'mistral-large-latest' }],
  embed: [
    { name: 'embed-openai', backend: 'compat-b', resolvedModel: 'text-embedding-3-small', weight: 1 },
    { name: 'embed-gemini', backend: 'gemini', resolvedModel: 'gemini-embedding-001', weight: 1 },
    { name: 'embed-mistral', backend: 'mistral', resolvedModel: 'mistral-embed', weight: 1 },
  ],
};

export const LOGICAL_MODELS = Object.keys(ROUTES);
/** Real provider model ids that are no logical name: a client naming one gets 404. */
export const PROVIDER_MODEL_IDS = ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'mistral-embed'];

/** The attempt order when `entry` is chosen (the compile rule, written out: split, then by priority). */
export function chainOf(logical: string, entryName: string): EntrySpec[] {
  const entries = ROUTES[logical] ?? [];
  const entry = entries.find((e) => e.name === entryName);
  if (!entry) return [];
  if (entry.matchHeader) return [entry];
  const open = entries.filter((e) => !e.matchHeader);
  const later = open
    .filter((e) => (e.priority ?? 0) > (entry.priority ?? 0))
    .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
  return [entry, ...later];
}

/** The gateway keys a case can present; `unknown` is well formed but configured nowhere. */
export const KEY_NAMES = ['team', 'byok', 'disabled', 'inactive', 'unknown'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export interface Secrets {
  gateway: Record<KeyName, string>;
  /** Backend name → the key the gateway injects for it. */
  provider: Record<string, string>;
  /** The byok key's own credential for compat-a (APIKey providerCredentials). */
  byokCredential: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function randomSecrets(): Secrets {
  const gateway = Object.fromEntries(KEY_NAMES.map((k) => [k, `sk-gw-${k}-${hex(12)}`])) as Record<
    KeyName,
    string
  >;
  const prefix: Record<string, string> = {
    openai: 'sk-proj-',
    'compat-a': 'sk-compat-a-',
    'compat-b': 'sk-compat-b-',
    sovereign: 'sk-sov-',
    claude: 'sk-ant-api03-',
    gemini: 'AIza',
    azure: '',
    mistral: 'mis-',
  };
  const provider = Object.fromEntries(BACKENDS.map((b) => [b.name, `${prefix[b.name] ?? ''}${hex(16)}`]));
  return { gateway, provider, byokCredential: `sk-byok-${hex(16)}` };
}

export function keyId(name: KeyName): string {
  return `${NAMESPACE}/${name}`;
}

function yaml(secrets: Secrets, fakes: ReadonlyMap<string, FakeProvider>): string {
  const q = JSON.stringify;
  const docs: string[] = [];
  const secretData = {
    ...Object.fromEntries(Object.entries(secrets.gateway).map(([k, v]) => [`gw-${k}`, v])),
    ...Object.fromEntries(Object.entries(secrets.provider).map(([k, v]) => [`p-${k}`, v])),
    byok: secrets.byokCredential,
  };
  docs.push(`apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData:
${Object.entries(secretData)
  .map(([k, v]) => `  ${k}: ${q(v)}`)
  .join('\n')}`);
  for (const b of BACKENDS) {
    docs.push(`apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: ${b.name} }
spec:
  provider: ${b.provider}
  baseURL: ${q(fakes.get(b.name)!.url + b.basePath)}
  credentials: { secretRef: { name: keys, key: p-${b.name} } }`);
  }
  const routes: string[] = [];
  for (const [model, entries] of Object.entries(ROUTES)) {
    for (const e of entries) {
      const parts = [
        `name: ${q(e.name)}`,
        `model: ${q(model)}`,
        `backendRef: { name: ${e.backend} }`,
        `modelNameOverride: ${q(e.resolvedModel)}`,
      ];
      if (e.weight !== undefined) parts.push(`weight: ${e.weight}`);
      if (e.priority !== undefined) parts.push(`priority: ${e.priority}`);
      if (e.matchHeader)
        parts.push(
          `match: { headers: [{ name: ${q(e.matchHeader.name)}, type: Exact, value: ${q(e.matchHeader.value)} }] }`,
        );
      routes.push(`    - { ${parts.join(', ')} }`);
    }
  }
  docs.push(`apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  sessionHeader: x-session-id
  fallback: { attempts: 3, perAttemptTimeout: 10s }
  routes:
${routes.join('\n')}`);
  docs.push(`apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: frozen }
spec:
  active: false
  routes:
    - { name: frozen, model: chat, backendRef: { name: compat-a } }`);
  const key = (name: KeyName, extra = '', routeConfig = 'main') =>
    `apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: ${name} }
spec:
  secretRef: { name: keys, key: gw-${name} }
  routeConfigRef: { name: ${routeConfig} }${extra}`;
  docs.push(key('team', '\n  attributes: { tenant: team }'));
  docs.push(
    key(
      'byok',
      '\n  providerCredentials:\n    - { backendRef: { name: compat-a }, secretRef: { name: keys, key: byok } }',
    ),
  );
  docs.push(key('disabled', '\n  disabled: true'));
  docs.push(key('inactive', '', 'frozen'));
  return `${docs.join('\n---\n')}\n`;
}

/** A pino logger writing JSON lines to memory, with a way to wait for a line to appear. */
export class LogCapture {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];
  readonly stream = new Writable({
    write: (chunk, _encoding, callback) => {
      for (const line of String(chunk).split('\n')) if (line) this.lines.push(line);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
      callback();
    },
  });
  readonly logger = createLogger({ level: 'info', destination: this.stream });

  /** Resolves at the next line written, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface FuzzStack {
  stack: LocalStack;
  fakes: ReadonlyMap<string, FakeProvider>;
  secrets: Secrets;
  log: LogCapture;
  adminUrl: string;
  close(): Promise<void>;
}

export async function startFuzzStack(): Promise<FuzzStack> {
  const secrets = randomSecrets();
  const fakes = new Map<string, FakeProvider>();
  for (const b of BACKENDS) fakes.set(b.name, await startFakeProvider(b.name, b.format));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-fuzz-http-'));
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(configPath, yaml(secrets, fakes));
  const log = new LogCapture();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      configPath,
      logger: log.logger,
      gatewayPort: 0,
      grpcPort: 0,
      adminPort: 0,
      maxRequestBodyBytes: BODY_LIMIT,
    });
  } catch (error) {
    await Promise.all([...fakes.values()].map((f) => f.close()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    stack,
    fakes,
    secrets,
    log,
    adminUrl: stack.extProc.adminUrl!,
    async close() {
      await stack.close();
      await Promise.all([...fakes.values()].map((f) => f.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
