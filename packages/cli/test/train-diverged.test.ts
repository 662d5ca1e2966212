// `lorafuse train` on a model whose every step is NaN: training stops with
// TRAINING_DIVERGED after the default five bad steps in a row, and the last
// good adapter (here the initial one: no step was good) is still written.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

it('saves the last good adapter and reports TRAINING_DIVERGED', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-diverged-'));
  const model = await writeByteModel(join(dir, 'model'), 11, 'model.norm.weight');
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, ['a', 'b', 'c', 'd'].map((s) => JSON.stringify({ source: `word ${s}`, summary: s })).join('\n') + '\n');
  const out = join(dir, 'adapter');
  const r = await cli(
    'train',
    '--model',
    model,
    '--train',
    data,
    '--batch-size',
    '1',
    '--epochs',
    '3',
    '--rank',
    '2',
    '--out',
    out,
    '--backend',
    'reference',
    '--quiet',
  );
  expect(r.code).toBe(1);
  expect(r.err).toContain('[TRAINING_DIVERGED]');
  expect(r.err).toContain(`saved to ${out}`);
  const adapter = await loadAdapter(nodeFolder(out));
  for (const m of adapter.modules) {
    expect(Array.from(m.a.toFloat32()).every(Number.isFinite)).toBe(true);
    expect(Array.from(m.b.toFloat32()).every((v) => v === 0)).toBe(true); // LoRA's B starts at zero and no step was kept
  }
});
