// Issue 21 acceptance: `lorafuse adapt --metric M` runs to completion for
// every built-in metric and for a plugin metric that needs gradients, on
// wasm and on WebGPU (Dawn; skipped with a message where there is no
// adapter, never under CI=true). Each run must also have pruned what it
// says: with module grouping and an even number of entries per factor,
// ratio 0.5 leaves exactly half of every module's entries at zero.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PLUGIN_NAMES, loadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { acquireDawnDevice } from '../../backend-webgpu/test/acquire-device.js';
import { flags, inputFlags, writeAdaptFixture } from './adapt-fixture.js';
import { cli } from './cli-helpers.js';

const PLUGIN = fileURLToPath(new URL('./plugins/gradient-metric.mjs', import.meta.url));
const METRICS = [...BUILTIN_PLUGIN_NAMES.importance, 'test/gradient-magnitude'];
const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-metrics-'));
const f = await writeAdaptFixture(dir);

/** Whether this machine has a Dawn adapter (the handle is only a probe). */
async function hasDawn(): Promise<boolean> {
  const handle = await acquireDawnDevice('lorafuse adapt --metric');
  handle?.device.destroy();
  return handle !== undefined;
}

const backends = [
  ['wasm', true],
  ['webgpu', await hasDawn()],
] as const;

describe.each(backends)('lorafuse adapt --metric on %s', (backend, available) => {
  it.skipIf(!available).each(METRICS)('%s runs to completion and prunes half of every module', async (metric) => {
    const out = join(dir, `${backend}-${metric.replace('/', '-')}`);
    const r = await cli(
      'adapt',
      ...inputFlags(f),
      ...['--metric', metric, '--plugin', PLUGIN],
      ...flags(`--prune-ratio 0.5 --epochs 1 --batch-size 2 --accumulation 1 --lr 0.01 --backend ${backend} --json`),
      ...['--out', out],
    );
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as { steps: number; sparsity: { module: string; size: number; pruned: number }[] };
    expect(summary.steps).toBe(3);
    // Target q,v and related q,k,v,o in 2 layers: 8 modules.
    expect(summary.sparsity).toHaveLength(8);
    for (const m of summary.sparsity) expect(m.pruned * 2).toBe(m.size);
    const merged = await loadAdapter(nodeFolder(out));
    for (const m of merged.modules) {
      const values = [...m.a.toFloat32(), ...m.b.toFloat32()];
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.filter((v) => v === 0).length * 2).toBe(values.length);
    }
  });
});
