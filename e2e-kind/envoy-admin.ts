/**
 * Envoy's admin interface in the kind suite's proxy pods, for e2e-kind/run.sh:
 *   npx tsx e2e-kind/envoy-admin.ts check DIR   fails unless every proxy pod of the Gateway has an accepted,
 *                                              active listener carrying agent-router's filters
 *   npx tsx e2e-kind/envoy-admin.ts dump DIR    diagnostics: each proxy pod's admin output, nothing checked
 * Both write DIR/<pod>/config_dump.json and stats.txt (dump also clusters.txt and server_info.json).
 *
 * Envoy Gateway's bootstrap binds the proxy's admin listener to 127.0.0.1:19000 inside the pod (its proxy
 * Deployment goldens, internal/infrastructure/kubernetes/proxy/testdata/deployments/default.yaml), so it
 * is reached with `kubectl port-forward pod/<proxy> 19000`, as EG's "Envoy Proxy Admin Interface"
 * troubleshooting page does; no Service exposes it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type PortForward, PROXY_NAMESPACE, portForward, proxyPods } from './cluster.ts';
import { AGENT_ROUTER_FILTERS, checkProxy } from './config-dump.ts';

const ADMIN_PORT = 19000;

async function get(admin: PortForward, request: string): Promise<string> {
  const response = await fetch(`${admin.url}${request}`, { signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${request} answered ${response.status}: ${body.slice(0, 200)}`);
  return body;
}

async function withAdmin<T>(pod: string, use: (admin: PortForward) => Promise<T>): Promise<T> {
  const admin = await portForward(PROXY_NAMESPACE, `pod/${pod}`, ADMIN_PORT);
  try {
    return await use(admin);
  } finally {
    admin.close();
  }
}

/** Returns the number of pods with problems, printing each problem. */
async function check(dir: string, pods: string[]): Promise<number> {
  let failed = 0;
  for (const pod of pods) {
    const podDir = path.join(dir, pod);
    mkdirSync(podDir, { recursive: true });
    const findings = await withAdmin(pod, async (admin) => {
      const configDump = await get(admin, '/config_dump');
      const stats = await get(admin, '/stats');
      writeFileSync(path.join(podDir, 'config_dump.json'), configDump);
      writeFileSync(path.join(podDir, 'stats.txt'), stats);
      return checkProxy(JSON.parse(configDump), stats, AGENT_ROUTER_FILTERS);
    });
    for (const l of findings.listeners) {
      console.log(`${pod}: listener ${l.name} ${l.state}; http filters: ${l.httpFilters.join(', ')}`);
    }
    for (const warning of findings.warnings) console.log(`${pod}: warning: ${warning}`);
    for (const problem of findings.problems) console.error(`${pod}: ${problem}`);
    if (findings.problems.length > 0) failed++;
  }
  return failed;
}

async function dump(dir: string, pods: string[]): Promise<void> {
  for (const pod of pods) {
    const podDir = path.join(dir, pod);
    mkdirSync(podDir, { recursive: true });
    try {
      await withAdmin(pod, async (admin) => {
        const requests: [string, string][] = [
          ['config_dump.json', '/config_dump?include_eds'],
          ['stats.txt', '/stats'],
          ['clusters.txt', '/clusters'],
          ['server_info.json', '/server_info'],
        ];
        for (const [file, request] of requests) {
          writeFileSync(path.join(podDir, file), await get(admin, request).catch((e) => String(e)));
        }
      });
    } catch (error) {
      writeFileSync(path.join(podDir, 'error.txt'), String(error));
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, dir] = argv;
  if ((command !== 'check' && command !== 'dump') || !dir) {
    console.error('usage: envoy-admin.ts check|dump DIR');
    return 2;
  }
  const pods = proxyPods();
  if (command === 'dump') {
    mkdirSync(dir, { recursive: true });
    if (pods.length === 0) writeFileSync(path.join(dir, 'no-proxy-pods.txt'), `none in ${PROXY_NAMESPACE}\n`);
    await dump(dir, pods);
    return 0;
  }
  if (pods.length === 0) {
    console.error(`no Envoy proxy pod of the Gateway in ${PROXY_NAMESPACE}`);
    return 1;
  }
  const failed = await check(dir, pods);
  if (failed > 0) {
    console.error(`Envoy did not accept agent-router's configuration on ${failed} of ${pods.length} pod(s)`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
