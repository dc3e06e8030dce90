/**
 * Hot reload through the running stack: a valid edit applies without a restart; an invalid edit is
 * reported with file, document and field, and the last good configuration keeps serving.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;
let yaml: (override: string, active?: boolean) => string;

beforeAll(async () => {
  let urls: Record<string, string> = {};
  yaml = (override, active = true) =>
    [
      COMMON_YAML,
      backendYaml('a', urls.a!),
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  active: ${active}
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: ${override} }
`,
    ].join('');
  t = await startTestStack({ a: {} }, (u) => {
    urls = u;
    return yaml('model-v1');
  });
});

afterAll(async () => {
  await t?.close();
});

const resolved = async () => {
  const { response } = await t
    .client()
    .chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
    })
    .withResponse();
  return response.headers.get('x-agent-router-resolved-model');
};

describe('configuration hot reload', () => {
  it('applies a valid change without a restart', async () => {
    expect(await resolved()).toBe('model-v1');
    writeFileSync(t.configPath, yaml('model-v2'));
    await eventually(() => t.lines.some((l) => l.includes('"config_applied"')) || undefined);
    expect(await resolved()).toBe('model-v2');
  });

  it('rejects an invalid change with a precise message and keeps serving the last good configuration', async () => {
    const before = t.lines.length;
    writeFileSync(
      t.configPath,
      yaml('model-v3').replace('backendRef: { name: a }', 'backendRef: { name: a }, weight: -3'),
    );
    const rejected = await eventually(() =>
      t.lines.slice(before).find((l) => l.includes('"config_rejected"')),
    );
    expect(rejected).toContain(t.configPath);
    expect(rejected).toContain('document 5');
    expect(rejected).toContain('spec.routes[0].weight');
    expect(await resolved()).toBe('model-v2');
  });

  it('turns a RouteConfig off with active: false', async () => {
    writeFileSync(t.configPath, yaml('model-v2', false));
    const status = await eventually(async () => {
      const r = await fetch(`${t.stack.gatewayUrl}/v1/models`, {
        headers: { authorization: 'Bearer sk-test-team-a' },
      });
      return r.status === 403 ? r.status : undefined;
    });
    expect(status).toBe(403);
  });
});
