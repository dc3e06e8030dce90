/**
 * The configuration half of the console API: API keys (keys.ts), RouteConfigs (routeconfigs.ts) and,
 * read-only, MCP servers (mcp-servers.ts),
 * read from and written through a ConfigWriter. The server (server.ts) has already authenticated the
 * caller, checked the write's origin and parsed its body; this turns a path and a body into an answer,
 * refusing an edit whole, with every problem, when the configuration would not be valid.
 */
import type { ConfigWriter, EditOutcome, Json, PlannedEdit, StoredConfig } from '../config/writer.ts';
import type { AuditDraft } from './audit.ts';
import { consoleErrors } from './errors.ts';
import {
  generateKeySecret,
  keyView,
  listKeys,
  parseEnabled,
  parseNewKey,
  planCreateKey,
  planSetEnabled,
} from './keys.ts';
import { listMcpServers } from './mcp-servers.ts';
import { uniqueObject } from './objects.ts';
import {
  fieldProblems,
  listRouteConfigs,
  planCanary,
  planRemoveOld,
  planSpec,
  routeConfigView,
} from './routeconfigs.ts';

export const KEY_PATH = /^\/api\/v1\/keys\/([^/]+)$/;
export const ROUTE_CONFIG_PATH = /^\/api\/v1\/routeconfigs\/([^/]+)(?:\/(preview|canary|remove-old))?$/;

/** The methods a configuration path takes (HEAD goes with GET); undefined for other paths. */
export function configMethods(path: string): readonly string[] | undefined {
  if (path === '/api/v1/keys') return ['GET', 'POST'];
  if (KEY_PATH.test(path)) return ['GET', 'PATCH'];
  if (path === '/api/v1/routeconfigs') return ['GET'];
  if (path === '/api/v1/mcpservers') return ['GET'];
  const rc = ROUTE_CONFIG_PATH.exec(path);
  if (rc) return rc[2] === undefined ? ['GET', 'PUT'] : ['POST'];
  return undefined;
}

export interface ConfigAnswer {
  status: number;
  body: unknown;
}

/** Answers a configuration path (one configMethods knows); `writes`: not a GET, with `body` parsed. */
export async function configEndpoint(
  writer: ConfigWriter,
  path: string,
  writes: boolean,
  body: Json,
  audit: AuditDraft,
): Promise<ConfigAnswer> {
  const apply = async <T>(
    plan: (current: StoredConfig) => PlannedEdit<T>,
    name: string,
    dryRun = false,
  ): Promise<EditOutcome<T>> => {
    const outcome = await writer.edit(plan, { dryRun });
    if (!dryRun && outcome.problems.length > 0)
      throw consoleErrors.invalidConfig(fieldProblems(outcome.problems, name));
    return outcome;
  };
  const routeConfigAfterWrite = async (name: string) =>
    routeConfigView(uniqueObject(await writer.read(), 'RouteConfig', name));

  if (path === '/api/v1/keys') {
    if (!writes) return { status: 200, body: { data: listKeys(await writer.read()) } };
    const input = parseNewKey(body);
    audit.action = 'key.create';
    audit.target = `APIKey/${input.name}`;
    const secret = generateKeySecret();
    const outcome = await apply((current) => planCreateKey(current, input, secret), '');
    audit.detail = `routeConfig ${input.routeConfig}`;
    return { status: 201, body: { key: outcome.result, secret } };
  }
  const key = KEY_PATH.exec(path);
  if (key !== null) {
    const name = decodeSegment(key[1]!, 'name');
    if (!writes)
      return { status: 200, body: { key: keyView(uniqueObject(await writer.read(), 'APIKey', name)) } };
    audit.action = 'key.update';
    audit.target = `APIKey/${name}`;
    const enabled = parseEnabled(body);
    const outcome = await apply((current) => planSetEnabled(current, name, enabled), '');
    audit.detail = enabled ? 'enabled' : 'disabled';
    return { status: 200, body: { key: outcome.result } };
  }
  if (path === '/api/v1/routeconfigs')
    return { status: 200, body: { data: listRouteConfigs(await writer.read()) } };
  if (path === '/api/v1/mcpservers')
    return { status: 200, body: { data: listMcpServers(await writer.read()) } };
  const rc = ROUTE_CONFIG_PATH.exec(path)!;
  const name = decodeSegment(rc[1]!, 'name');
  const action = rc[2];
  if (!writes)
    return { status: 200, body: routeConfigView(uniqueObject(await writer.read(), 'RouteConfig', name)) };
  audit.target = `RouteConfig/${name}`;
  if (action === 'preview') {
    audit.action = 'routeconfig.preview';
    const outcome = await apply((current) => planSpec(current, name, body.spec, undefined), name, true);
    return {
      status: 200,
      body: {
        valid: outcome.problems.length === 0,
        problems: fieldProblems(outcome.problems, name),
        diff: outcome.diff,
      },
    };
  }
  if (action === undefined) {
    audit.action = 'routeconfig.update';
    await apply((current) => planSpec(current, name, body.spec, { version: body.version }), name);
    return { status: 200, body: await routeConfigAfterWrite(name) };
  }
  audit.action = action === 'canary' ? 'routeconfig.canary' : 'routeconfig.remove-old';
  await apply((current) => {
    const planned =
      action === 'canary' ? planCanary(current, name, body) : planRemoveOld(current, name, body);
    audit.detail = planned.detail;
    return planned;
  }, name);
  return { status: 200, body: await routeConfigAfterWrite(name) };
}

function decodeSegment(segment: string, param: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw consoleErrors.invalidBody(`The ${param} in the path is not valid percent-encoding.`, param);
  }
}
