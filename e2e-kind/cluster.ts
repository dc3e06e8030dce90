/**
 * What the kind suite needs from the cluster: kubectl calls, port-forwards to the Envoy Service and to a
 * proxy pod's ext-proc admin port, and the sidecar's log lines. Everything goes through the real
 * kubectl against the cluster run.sh created (KUBECONFIG / current context).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export const NAMESPACE = process.env.E2E_NAMESPACE ?? 'agent-router-e2e';
export const PROXY_NAMESPACE = process.env.E2E_PROXY_NAMESPACE ?? 'envoy-gateway-system';
export const RELEASE = process.env.E2E_RELEASE ?? 'agent-router';
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export function kubectl(args: readonly string[]): string {
  return execFileSync(KUBECTL, [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** The Service Envoy Gateway created for our Gateway (it labels it with the owning Gateway). */
export function envoyService(): string {
  return kubectl([
    'get',
    'service',
    '-n',
    PROXY_NAMESPACE,
    '-l',
    `gateway.envoyproxy.io/owning-gateway-name=${RELEASE},gateway.envoyproxy.io/owning-gateway-namespace=${NAMESPACE}`,
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]).trim();
}

/** Proxy pods of our Gateway: each carries the agent-router-ext-proc sidecar. */
export function proxyPods(): string[] {
  return kubectl([
    'get',
    'pods',
    '-n',
    PROXY_NAMESPACE,
    '-l',
    `gateway.envoyproxy.io/owning-gateway-name=${RELEASE}`,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ])
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}

export interface PortForward {
  url: string;
  close(): void;
}

/** `kubectl port-forward` on a free local port; resolves once kubectl says it is forwarding. */
export function portForward(namespace: string, target: string, remotePort: number): Promise<PortForward> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(KUBECTL, ['port-forward', '-n', namespace, target, `:${remotePort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`port-forward ${target} did not start: ${output}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, close: () => child.kill() });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward ${target} exited with ${code}: ${output}`));
    });
  });
}

/** The ext-proc sidecar's JSON log lines from every proxy pod since `since` (RFC 3339). */
export function sidecarLogLines(since: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const pod of proxyPods()) {
    const text = kubectl([
      'logs',
      '-n',
      PROXY_NAMESPACE,
      pod,
      '-c',
      'agent-router-ext-proc',
      `--since-time=${since}`,
    ]);
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // kubectl can cut a line at the boundary of a log rotation; the next poll sees it whole.
      }
    }
  }
  return lines;
}

/** Polls `read` until it returns a value, for up to `ms`. */
export async function eventually<T>(read: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
