/**
 * Envoy's access log in the bootstrap we generate keeps the request path without its query, which may
 * carry a credential (`?key=…`).
 */
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { generateBootstrap } from '../../envoy-config/bootstrap.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';

describe('Envoy access log', () => {
  it('logs the path without the query string (%PATH(NQ:…)%), never %REQ(:PATH)%', () => {
    const text = JSON.stringify(
      generateBootstrap(loadSnapshot('examples/local.yaml', { supportedProviders }), {}),
    );
    expect(text).toContain('"path":"%PATH(NQ:PATH)%"');
    expect(text).not.toMatch(/%REQ\([^)]*PATH[^)]*\)%/);
  });
});
