import { describe, expect, it } from 'vitest';
import { reconcile } from '../../kube/reconcile.ts';
import {
  type CachedObject,
  project,
  RESOURCES,
  STATUS_KINDS,
  type WatchedKind,
} from '../../kube/resources.ts';

type Json = Record<string, unknown>;

const API = 'agentrouter.dev/v1alpha1';
const objects = (mcpServerName: string): Json[] => [
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'tokens', namespace: 'ai' },
    data: { token: 'c2VjcmV0LXRva2Vu' },
  },
  {
    apiVersion: API,
    kind: 'MCPServer',
    metadata: { name: mcpServerName, namespace: 'ai' },
    spec: {
      url: 'http://tools.mcp.svc:8080/mcp',
      credentials: { secretRef: { name: 'tokens', key: 'token' } },
    },
  },
  {
    apiVersion: API,
    kind: 'RouteConfig',
    metadata: { name: 'agents', namespace: 'ai' },
    spec: { routes: [], mcp: { path: '/mcp', servers: [{ serverRef: { name: 'tools' } }] } },
  },
];

function cached(list: Json[]): CachedObject[] {
  return list.map((o, i) => {
    const m = o.metadata as Json;
    const raw = {
      ...o,
      metadata: {
        ...m,
        uid: `u${i}`,
        resourceVersion: String(i + 1),
        generation: 1,
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
    };
    return project(o.kind as WatchedKind, raw)!;
  });
}

describe('MCPServer from the API server', () => {
  it('is watched at agentrouter.dev/v1alpha1 mcpservers and gets a status', () => {
    expect(RESOURCES.MCPServer).toMatchObject({
      group: 'agentrouter.dev',
      version: 'v1alpha1',
      plural: 'mcpservers',
    });
    expect(STATUS_KINDS).toContain('MCPServer');
  });

  it('compiles into the snapshot and the RouteConfig that exposes it', () => {
    const result = reconcile(cached(objects('tools')), new Map());
    expect(result.problems).toEqual([]);
    expect([...(result.snapshot.mcpServers?.keys() ?? [])]).toEqual(['ai/tools']);
    expect(result.snapshot.routeConfigs.get('ai/agents')?.mcp?.servers.map((s) => s.name)).toEqual(['tools']);
    expect(result.outcomes.get('MCPServer ai/tools')?.problems).toEqual([]);
  });

  it('reports a RouteConfig naming a missing MCPServer with the field path', () => {
    const result = reconcile(cached(objects('other')), new Map());
    const outcome = result.outcomes.get('RouteConfig ai/agents');
    expect(outcome?.problems.map((p) => [p.path, p.message])).toEqual([
      ['spec.mcp.servers[0].serverRef.name', 'MCPServer "tools" not found in namespace "ai"'],
    ]);
  });
});
