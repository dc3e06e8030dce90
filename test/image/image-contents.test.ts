/**
 * The production image, proven without Docker: the root Dockerfile is parsed and its stages are replayed
 * in a temporary directory — COPY from the build context (honouring .dockerignore) or from an earlier
 * stage, RUN of its npm commands — so the final stage's directory holds exactly the files the image
 * holds. Then every command the image runs is started from there, as the image runs it: the ENTRYPOINT
 * under this Node (the version of the FROM tag), the final stage's ENV, TMPDIR the only writable place,
 * and, when the tests run as root, the Dockerfile's USER. A missing file, an import of a dev dependency
 * (only production node_modules are there) or a write to the image's files or HOME (all read-only, as
 * with readOnlyRootFilesystem) fails here before an image is built.
 *
 * One shortcut: the build stage's `npm ci` (all dependencies) links this checkout's node_modules,
 * installed from the same lockfile, instead of installing them again. The production install of the
 * deps stage is run for real.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { FakeApiServer } from '../kube/fake-api-server.ts';
import { baseObjects, NS } from '../kube/objects.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

// ---- the Dockerfile, as Docker reads it ----

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      lines.push(pending + line);
      pending = '';
    }
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (!op || args === undefined) throw new Error(`Dockerfile: cannot read "${line}"`);
    if (op.toUpperCase() === 'FROM') {
      const [from, as, name] = args.split(/\s+/);
      if (as !== undefined && as.toUpperCase() !== 'AS') throw new Error(`Dockerfile: FROM ${args}`);
      stages.push({ from: from!, name, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile: ${op} before FROM`);
      stage.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

function parseCopy(args: string): Copy {
  if (args.startsWith('[')) throw new Error(`COPY ${args}: the JSON form is not read by this test`);
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const unknown = flags.filter((f) => !f.startsWith('--from='));
  if (unknown.length > 0) throw new Error(`COPY ${args}: flags this test does not replay: ${unknown}`);
  return {
    from: flags.find((f) => f.startsWith('--from='))?.slice('--from='.length),
    sources: paths.slice(0, -1),
    dest: paths.at(-1)!,
  };
}

function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const [, key, value] = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(pair) ?? [];
    if (!key || value === undefined) throw new Error(`ENV ${args}: only KEY=value pairs are read`);
    env[key] = value;
  }
  return env;
}

const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
const last = (stage: Stage, op: string) => all(stage, op).at(-1)?.args;

/** .dockerignore as Docker applies it: patterns from the context root, the last match wins, `!` re-includes. */
function dockerignore(text: string): (relative: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const include = l.startsWith('!');
      const pattern = path.posix.normalize(include ? l.slice(1) : l).replace(/^\/+/, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      // A pattern that matches a directory excludes everything under it.
      return { include, regex: new RegExp(`^${source}(/.*)?$`) };
    });
  return (relative) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(relative)) ignored = !rule.include;
    return ignored;
  };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const final = dockerfile.at(-1)!;
const ignored = dockerignore(read('.dockerignore'));

// ---- replaying the stages ----

function npm(args: string[], cwd: string): void {
  const cli = process.env.npm_execpath;
  const [file, argv] = cli?.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args];
  execFileSync(file, argv, {
    cwd,
    stdio: 'pipe',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** Builds every stage under `root`/<stage index>, each with its own filesystem; returns the final one's. */
function assemble(root: string): { fs: string; workdir: string } {
  const built: { fs: string; workdir: string; name: string | undefined }[] = [];
  for (const [index, stage] of dockerfile.entries()) {
    const fs = path.join(root, `stage-${index}`);
    mkdirSync(fs, { recursive: true });
    let workdir = '/';
    const at = (p: string, base = workdir) => path.join(fs, path.posix.resolve(base, p));
    for (const { op, args } of stage.instructions) {
      if (op === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, args);
        mkdirSync(at('.'), { recursive: true });
      } else if (op === 'COPY') {
        const copy = parseCopy(args);
        const source = copy.from === undefined ? undefined : built.find((s) => s.name === copy.from);
        if (copy.from !== undefined && !source) throw new Error(`COPY --from=${copy.from}: no such stage`);
        const into = copy.dest.endsWith('/') || copy.sources.length > 1;
        for (const src of copy.sources) {
          const relative = path.posix.normalize(src).replace(/\/$/, '');
          let from: string;
          if (source) from = path.join(source.fs, path.posix.resolve(source.workdir, relative));
          else {
            if (ignored(relative))
              throw new Error(`COPY ${src}: excluded from the build context by .dockerignore`);
            from = path.join(REPO, relative);
          }
          if (!existsSync(from)) throw new Error(`COPY ${src}: not found (${from})`);
          const filter = source
            ? undefined
            : (file: string) => !ignored(path.relative(REPO, file).split(path.sep).join('/'));
          if (statSync(from).isDirectory())
            cpSync(from, at(copy.dest), {
              recursive: true,
              verbatimSymlinks: true,
              ...(filter ? { filter } : {}),
            });
          else {
            const to = into ? path.join(at(copy.dest), path.basename(from)) : at(copy.dest);
            mkdirSync(path.dirname(to), { recursive: true });
            cpSync(from, to);
          }
        }
      } else if (op === 'RUN') {
        const [tool, ...argv] = args.split(/\s+/);
        if (tool !== 'npm') throw new Error(`RUN ${args}: this test replays npm commands only`);
        if (argv[0] === 'ci' && !argv.includes('--omit=dev')) {
          for (const file of ['package.json', 'package-lock.json'])
            expect(readFileSync(at(file), 'utf8'), `the build stage's ${file}`).toBe(read(file));
          symlinkSync(path.join(REPO, 'node_modules'), at('node_modules'));
        } else if (argv[0] === 'ci') {
          npm([...argv, '--prefer-offline'], at('.'));
        } else {
          npm(argv, at('.'));
        }
      } else if (!['ENV', 'USER', 'ENTRYPOINT', 'CMD', 'ARG', 'LABEL', 'EXPOSE'].includes(op)) {
        throw new Error(`Dockerfile ${op}: not replayed by this test; teach it`);
      }
    }
    built.push({ fs, workdir, name: stage.name });
  }
  return built.at(-1)!;
}

// ---- running the image ----

const [imageUid, imageGid] = (last(final, 'USER') ?? '').split(':').map(Number);
const asRoot = process.getuid?.() === 0;
let root: string;
let app: string;
let tmp: string;

/** The environment the image gives a process: its ENV, TMPDIR a writable emptyDir, HOME not writable. */
function imageEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.assign({}, ...all(final, 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: app,
    ...env,
    TMPDIR: tmp,
    ...extra,
  };
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running: Running[] = [];

/** `argv` as a container starts it: argv[0] "node" is this Node, run in the image's WORKDIR as its USER. */
function run(argv: string[], extraEnv: Record<string, string> = {}): Running {
  expect(argv[0]).toBe('node');
  const child = spawn(process.execPath, argv.slice(1), {
    cwd: app,
    env: imageEnv(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asRoot ? { uid: imageUid!, gid: imageGid! } : {}),
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const r = { child, output: () => output, exited };
  running.push(r);
  return r;
}

const ENTRYPOINT = JSON.parse(last(final, 'ENTRYPOINT') ?? '[]') as string[];
const entrypoint = (...args: string[]) => run([...ENTRYPOINT, ...args]);

/** Polls `check` until it holds; fails at once, with the output, if the process exits first. */
async function until(r: Running, what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  let code: number | null | undefined;
  void r.exited.then((c) => (code = c ?? -1));
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (code !== undefined) throw new Error(`exited ${code} before ${what}:\n${r.output()}`);
    try {
      if (await check()) return;
    } catch {
      // Not listening yet: poll again.
    }
    if (Date.now() > deadline) throw new Error(`not ${what} in time:\n${r.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts a process on `count` ports that were free a moment before, and waits until it is ready. A test
 * file running in parallel can take one of them between that check and the child's listen; the child
 * then exits with EADDRINUSE and is started again on new ports (at most three times).
 */
async function startOnFreePorts(
  count: number,
  start: (ports: number[]) => Running,
  ready: (ports: number[]) => Promise<boolean>,
): Promise<{ r: Running; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const r = start(ports);
    try {
      await until(r, 'ready', () => ready(ports));
      return { r, ports };
    } catch (error) {
      if (attempt >= 3 || !r.output().includes('EADDRINUSE')) throw error;
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  return r.exited;
}

const answers = async (url: string) => (await fetch(url)).status === 200;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Two consecutive free ports, for sim-pod.mjs (its relay on N, the simulator on N + 1). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = createServer();
    const free = await new Promise<boolean>((resolve) => {
      next.once('error', () => resolve(false));
      next.listen(port + 1, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => next.close(() => resolve()));
      return port;
    }
  }
}

function healthCheck(target: string): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service: '' }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(String(response.status));
    }),
  );
}

const MANIFESTS = `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team: sk-image-test-team, provider: sk-image-test-provider }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec:
  provider: OpenAI
  baseURL: https://api.openai.com/v1
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: llama-pool, namespace: models }
spec:
  selector: { matchLabels: { app: llama } }
  targetPorts: [{ number: 8000 }]
  endpointPickerRef: { name: llama-pool-epp, port: { number: 9002 }, failureMode: FailClose }
---
apiVersion: v1
kind: Pod
metadata: { name: llama-0, namespace: models, labels: { app: llama } }
status: { podIP: 127.0.0.61, phase: Running, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: default }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: openai }, modelNameOverride: gpt-4o }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team }
spec:
  secretRef: { name: keys, key: team }
  routeConfigRef: { name: default }
`;

// ---- the tests ----

describe('the Dockerfile', () => {
  it('builds every stage from the Node 24 LTS release the project pins, which this test runs under', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(3);
    for (const stage of dockerfile) expect(stage.from).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim$/);
    expect(new Set(dockerfile.map((s) => s.from)).size).toBe(1);
    const [, version] = /^node:(\d+\.\d+\.\d+)/.exec(final.from)!;
    expect(version).toBe(JSON.parse(read('package.json')).devDependencies.node);
    expect(process.versions.node).toBe(version);
  });

  it('runs the compiled CLI as a numeric non-root user, with NODE_ENV=production and TMPDIR=/tmp', () => {
    expect(last(final, 'USER')).toMatch(/^\d+:\d+$/);
    expect(imageUid).not.toBe(0);
    expect(imageUid).toBe(65532);
    expect(ENTRYPOINT).toEqual(['node', 'dist/cli/main.js']);
    const env = Object.assign({}, ...all(final, 'ENV').map((i) => parseEnv(i.args)));
    expect(env).toMatchObject({ NODE_ENV: 'production', TMPDIR: '/tmp' });
  });

  it('ships no TypeScript toolchain: the final stage installs nothing, names no tsx or typescript', () => {
    expect(all(final, 'RUN')).toEqual([]);
    const text = final.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    expect(text).not.toMatch(/tsx|typescript|tsconfig/i);
    const modules = all(final, 'COPY')
      .map((i) => parseCopy(i.args))
      .find((c) => path.posix.normalize(c.dest) === 'node_modules');
    const deps = dockerfile.find((s) => s.name === modules?.from);
    expect(all(deps!, 'RUN').map((i) => i.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    expect(JSON.parse(read('package.json')).dependencies).not.toHaveProperty('tsx');
  });

  it('compiles in its build stage everything tsconfig.build.json compiles, with the build script', () => {
    const build = dockerfile.find((s) => all(s, 'RUN').some((i) => i.args === 'npm run build'))!;
    expect(build).toBeDefined();
    const copied = all(build, 'COPY').flatMap((i) => parseCopy(i.args).sources);
    const { include } = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json', ...include]));
    expect(JSON.parse(read('package.json')).scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  it('keeps node_modules, .git, dist and test out of the build context', () => {
    for (const p of [
      'node_modules',
      '.git',
      'dist',
      'test',
      'node_modules/tsx/package.json',
      'dist/cli/main.js',
    ])
      expect(ignored(p), p).toBe(true);
    expect(ignored('e2e-kind/sim-pod.mjs')).toBe(false);
  });
});

describe('the image, assembled from the Dockerfile', () => {
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'agent-router-image-'));
    chmodSync(root, 0o755);
    const image = assemble(path.join(root, 'build'));
    app = path.join(image.fs, image.workdir);
    tmp = path.join(root, 'tmp');
    mkdirSync(tmp);
    if (asRoot) chownSync(tmp, imageUid!, imageGid!);
    // The root filesystem is read-only in the pods; here only TMPDIR is writable.
    execFileSync('chmod', ['-R', 'a-w', image.fs]);
  }, 240_000);

  afterEach(() => {
    for (const r of running.splice(0)) r.child.kill('SIGKILL');
  });

  afterAll(() => {
    if (!root) return;
    execFileSync('chmod', ['-R', 'u+w', root]);
    rmSync(root, { recursive: true, force: true });
  });

  it('holds the compiled CLI and production dependencies only, no sources', () => {
    expect(readdirSync(app).sort()).toEqual(['bin', 'dist', 'e2e-kind', 'node_modules', 'package.json']);
    expect(existsSync(path.join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'cli'))).toBe(false);
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'openai'])
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    const ts = execFileSync('find', [path.join(app, 'dist'), '-name', '*.ts'], { encoding: 'utf8' });
    expect(ts).toBe('');
  });

  it('lets its processes write to TMPDIR only, as the pods do (read-only root filesystem)', async () => {
    const probe = `const fs = require('node:fs');
      const tryWrite = (f) => { try { fs.writeFileSync(f, ''); return 'written'; } catch (e) { return e.code; } };
      console.log(JSON.stringify({ uid: process.getuid(), app: tryWrite('x'), home: tryWrite(process.env.HOME + '/x'),
        tmp: tryWrite(require('node:os').tmpdir() + '/x') }));`;
    const r = run(['node', '-e', probe]);
    expect(await r.exited, r.output()).toBe(0);
    expect(JSON.parse(r.output())).toEqual({
      uid: asRoot ? imageUid : process.getuid!(),
      app: 'EACCES',
      home: 'EACCES',
      tmp: 'written',
    });
  }, 60_000);

  it('prints its usage with --help', async () => {
    const r = entrypoint('--help');
    expect(await r.exited, r.output()).toBe(0);
    expect(r.output()).toContain('usage: agent-router <command>');
    expect(r.output()).toContain('endpoint-picker');
  }, 60_000);

  it('starts ext-proc from a manifest file on TCP and a Unix socket, serves, and exits 0 on SIGTERM', async () => {
    const config = path.join(tmp, 'ext-proc.yaml');
    writeFileSync(config, MANIFESTS);
    const socket = path.join(tmp, 'ext-proc.sock');
    const {
      r,
      ports: [grpcPort],
    } = await startOnFreePorts(
      2,
      ([grpcPort, adminPort]) =>
        entrypoint(
          'ext-proc',
          `--config=${config}`,
          `--grpc-port=${grpcPort}`,
          `--admin-port=${adminPort}`,
          `--socket=${socket}`,
          '--log-level=info',
        ),
      ([, adminPort]) => answers(`http://127.0.0.1:${adminPort}/readyz`),
    );
    expect(await healthCheck(`127.0.0.1:${grpcPort}`)).toBe('SERVING');

    const client = rawClient(`unix:${socket}`);
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'GET',
          ':path': '/v1/models',
          authorization: 'Bearer sk-image-test-team',
        }),
        end_of_stream: true,
      },
    });
    const answer = await s.next();
    // Envoy ends the stream after an immediate response; an open one would hold up the drain.
    s.end();
    await s.done;
    client.close();
    expect(answer.response).toBe('immediate_response');
    const models = JSON.parse(Buffer.from(answer.immediate_response!.body!).toString());
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['chat-model']);

    expect(await stop(r), r.output()).toBe(0);
    expect(r.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|EACCES|EROFS/);
  }, 90_000);

  it('starts ext-proc from the cluster (--config=kubernetes://) and exits 0 on SIGTERM', async () => {
    const fake = await FakeApiServer.start();
    try {
      for (const o of baseObjects()) fake.apply(o);
      const kubeconfig = path.join(tmp, 'kubeconfig');
      writeFileSync(kubeconfig, fake.kubeConfig('ext-proc-pod').exportConfig());
      const { r } = await startOnFreePorts(
        2,
        ([grpcPort, adminPort]) =>
          run(
            [
              ...ENTRYPOINT,
              'ext-proc',
              '--config=kubernetes://',
              `--grpc-port=${grpcPort}`,
              `--admin-port=${adminPort}`,
              `--socket=${path.join(tmp, 'kube-ext-proc.sock')}`,
            ],
            {
              KUBECONFIG: kubeconfig,
              AGENT_ROUTER_WATCH_NAMESPACES: NS,
              POD_NAME: 'ext-proc-pod',
              POD_NAMESPACE: 'gateway',
            },
          ),
        ([, adminPort]) => answers(`http://127.0.0.1:${adminPort}/readyz`),
      );
      expect(await stop(r), r.output()).toBe(0);
    } finally {
      await fake.close();
    }
  }, 90_000);

  it('starts endpoint-picker for the pool named by --pool, healthy, and exits 0 on SIGTERM', async () => {
    const config = path.join(tmp, 'pool.yaml');
    writeFileSync(config, MANIFESTS);
    const {
      r,
      ports: [, healthPort],
    } = await startOnFreePorts(
      3,
      ([grpcPort, healthPort, metricsPort]) =>
        entrypoint(
          'endpoint-picker',
          `--config=${config}`,
          '--pool=models/llama-pool',
          `--grpc-port=${grpcPort}`,
          `--health-port=${healthPort}`,
          `--metrics-port=${metricsPort}`,
          '--scheduler=ours',
        ),
      ([, , metricsPort]) => answers(`http://127.0.0.1:${metricsPort}/readyz`),
    );
    expect(await healthCheck(`127.0.0.1:${healthPort}`)).toBe('SERVING');
    expect(r.output()).toMatch(/"event":"epp_listening".*"pool":"models\/llama-pool".*"endpoints":1/);
    expect(await stop(r), r.output()).toBe(0);
  }, 90_000);

  it('runs a kind sim pod as e2e-kind/manifests/sims.yaml starts it, serving vLLM metrics on its port', async () => {
    const deployment = parseAllDocuments(read('e2e-kind/manifests/sims.yaml'))
      .map((d) => d.toJS())
      .find((m) => m?.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const e of container.env as { name: string; value?: string }[])
      if (e.value !== undefined) env[e.name] = e.value;
    const port = await freePortPair();
    const r = run(container.command, {
      ...env,
      SIM_PORT: String(port),
      POD_NAME: 'sim-image-test',
      POD_NAMESPACE: 'default',
      TMPDIR: tmp,
    });
    await until(r, 'serving', () => r.output().includes('"event":"sim_listening"'));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('vllm:num_requests_waiting');
    expect(await stop(r), r.output()).toBe(0);
  }, 90_000);
});
