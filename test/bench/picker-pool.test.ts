import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PODS, podIp, writePoolManifests } from '../../bench/picker-pool.ts';
import { CONVERSATIONS, PICKER_BODY_BYTES, pickerRequestBody } from '../../bench/picker-workload.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { poolView } from '../../config/inference-pool.ts';
import { promptText } from '../../endpoint-picker/picker-phase.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';

function endpointsOf(pods: number, port: number) {
  const file = writePoolManifests(pods, port);
  try {
    return poolView(loadSnapshot(file, { supportedProviders }))?.endpoints ?? [];
  } finally {
    rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

describe('generated benchmark pool', () => {
  it.each([10, 100, 1000])(
    'compiles and yields %i ready endpoints on distinct loopback addresses',
    (pods) => {
      const endpoints = endpointsOf(pods, 8123);
      expect(endpoints).toHaveLength(pods);
      expect(new Set(endpoints.map((e) => e.address)).size).toBe(pods);
      expect(endpoints[pods - 1]).toMatchObject({
        name: `default/vllm-${pods - 1}`,
        address: `${podIp(pods - 1)}:8123`,
      });
    },
  );

  it('keeps every pod address inside 127.0.0.0/8 and off 127.0.0.x', () => {
    for (const index of [0, 249, 250, 999, MAX_PODS - 1]) {
      expect(podIp(index)).toMatch(/^127\.77\.([1-9]\d{0,2})\.([1-9]\d{0,2})$/);
    }
    expect(() => podIp(MAX_PODS)).toThrow(RangeError);
  });
});

describe('picker workload', () => {
  it('sends ~2 KB chat bodies whose prompts share their conversation prefix and differ after it', () => {
    const a = pickerRequestBody(5);
    const b = pickerRequestBody(5 + CONVERSATIONS);
    const other = pickerRequestBody(6);
    expect(a.length).toBe(PICKER_BODY_BYTES);
    expect(b.length).toBe(PICKER_BODY_BYTES);
    const promptA = promptText(JSON.parse(a.toString()));
    const promptB = promptText(JSON.parse(b.toString()));
    const promptOther = promptText(JSON.parse(other.toString()));
    const common = (x: string, y: string) => {
      let i = 0;
      while (i < x.length && x[i] === y[i]) i++;
      return i;
    };
    // Same conversation: everything up to the new question is shared; another conversation: the system prompt.
    expect(common(promptA, promptB)).toBeGreaterThan(1200);
    expect(common(promptA, promptB)).toBeLessThan(promptA.length);
    expect(common(promptA, promptOther)).toBeGreaterThan(800);
    expect(common(promptA, promptOther)).toBeLessThan(common(promptA, promptB));
  });
});
