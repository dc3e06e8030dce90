/**
 * What a service does with a refused reload, end to end from a real file: the snapshot in force stays,
 * `agent_router_config_reloads_total{result="rejected"}` counts it, and an error line names the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadHandlers } from '../../cli/reload-handlers.ts';
import { loadSnapshot, watchConfig } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { createExtProcMetrics } from '../../observability/metrics.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function reloads(metrics: ReturnType<typeof createExtProcMetrics>, result: string): Promise<number> {
  const metric = await metrics.configReloads.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('reload handlers', () => {
  it('keep the snapshot in force when the config file is emptied, count the refusal and log it naming the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-reload-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, readFileSync('examples/local.yaml', 'utf8'));
    const store = new SnapshotStore(loadSnapshot(file, { supportedProviders }));
    const before = store.current;
    expect(before.keysById.size).toBeGreaterThan(0);
    const metrics = createExtProcMetrics();
    const { logger, records } = capturingLogger();
    const watcher = watchConfig(
      file,
      { supportedProviders },
      reloadHandlers(logger, (s) => store.replace(s), metrics.configReloads),
    );
    cleanups.push(() => watcher.close());

    writeFileSync(file, '');
    const line = await eventually(() => records().find((r) => r.event === 'config_rejected'));
    expect(line.level).toBe(50); // pino's error
    expect(line.msg).toContain(`${file} file: holds no manifests`);
    expect(await reloads(metrics, 'rejected')).toBe(1);
    expect(await reloads(metrics, 'applied')).toBe(0);
    expect(store.current).toBe(before);
  });
});
