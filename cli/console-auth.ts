/**
 * Where the console's admin token comes from, as the CLI's flags say:
 *
 *   --admin-token-secret [NS/]NAME  Kubernetes mode: key --admin-token-key (default `token`) of this Secret,
 *                                   read live from the configuration source's Secret cache (so the Secret
 *                                   needs the agentrouter.dev/secret=true label, in a Secret namespace);
 *                                   NS defaults to the pod's namespace
 *   --admin-token-file PATH         file mode (or Kubernetes, a mounted Secret): the file's content, trimmed
 *   AGENT_ROUTER_CONSOLE_TOKEN      the token itself
 *
 * None of them: the API is open, which is allowed only when the console listens on loopback only.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type AdminToken, fixedToken } from '../console/auth.ts';
import { podNamespace } from '../kube/environment.ts';
import type { KubeSource } from '../kube/source.ts';

export const CONSOLE_TOKEN_ENV = 'AGENT_ROUTER_CONSOLE_TOKEN';

export interface AdminTokenFlags {
  file?: string | undefined;
  secret?: string | undefined;
  key?: string | undefined;
}

/** Undefined when no source is given (an open API). */
export function adminTokenFrom(
  flags: AdminTokenFlags,
  kube: Pick<KubeSource, 'secretValue'> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AdminToken | undefined {
  if (flags.secret !== undefined) {
    if (kube === undefined)
      throw new Error(
        '--admin-token-secret reads a Kubernetes Secret: use it with --config kubernetes://, or use --admin-token-file',
      );
    const [namespace, name] = flags.secret.includes('/')
      ? (flags.secret.split('/', 2) as [string, string])
      : [podNamespace(env), flags.secret];
    const key = flags.key ?? 'token';
    return {
      read: () => kube.secretValue(namespace, name, key),
      source: `Secret ${namespace}/${name} key ${key}`,
    };
  }
  if (flags.file !== undefined) return fixedToken(readFileSync(flags.file, 'utf8'), `file ${flags.file}`);
  const value = env[CONSOLE_TOKEN_ENV];
  if (value !== undefined && value !== '') return fixedToken(value, CONSOLE_TOKEN_ENV);
  return undefined;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** Refuses an open API anywhere but on loopback. */
export function checkOpenConsole(host: string, token: AdminToken | undefined): void {
  if (token === undefined && !isLoopbackHost(host))
    throw new Error(
      `the console would serve request data on ${host} without authentication: give an admin token (--admin-token-file, ${CONSOLE_TOKEN_ENV} or --admin-token-secret), or listen on 127.0.0.1`,
    );
}
