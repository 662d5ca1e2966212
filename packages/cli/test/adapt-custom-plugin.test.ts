// The example plugin (examples/custom-plugin: row-normalised magnitude) used
// by `lorafuse adapt --plugin`. With a learning rate far below f32's
// resolution the one optimizer step leaves the factors as they were, so the
// pruned entries must be exactly the ⌊ratio·n⌋ lowest row-normalised
// magnitudes of the input factors, computed here in float64 by a full sort.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createAdapterConfig, createLoraModule, loadAdapter, saveAdapter, Tensor } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const PLUGIN = fileURLToPath(new URL('../../../examples/custom-plugin/index.mjs', import.meta.url));
const RATIO = 0.3;

/** float64 |θ_ij| / ‖θ_i‖₂ of a row-major [rows, cols] factor. */
function rowScores(data: Float32Array, rows: number, cols: number): Float64Array {
  const scores = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let sq = 0;
    for (let j = 0; j < cols; j++) sq += data[i * cols + j] ** 2;
    for (let j = 0; j < cols; j++) scores[i * cols + j] = sq > 0 ? Math.abs(data[i * cols + j]) / Math.sqrt(sq) : 0;
  }
  return scores;
}

const lowest = (scores: Float64Array, ratio: number) =>
  new Set([...scores.keys()].sort((x, y) => scores[x] - scores[y] || x - y).slice(0, Math.floor(ratio * scores.length)));

it('lorafuse adapt --plugin examples/custom-plugin prunes what the plugin’s float64 reference says', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-custom-adapt-'));
  const model = await writeByteModel(join(dir, 'base'));
  const u = lcg(5);
  const rand = () => (u() - 0.5) * 0.4;
  const config = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: ['q_proj'] });
  const modules = [0, 1].map((l) =>
    createLoraModule(
      config,
      `model.layers.${l}.self_attn.q_proj`,
      Tensor.f32([4, 32], Float32Array.from({ length: 128 }, rand)),
      Tensor.f32([32, 4], Float32Array.from({ length: 128 }, rand)),
    ),
  );
  await saveAdapter(nodeFolder(join(dir, 'target')), { config, modules });
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, ['du sizes', 'df frees'].map((t, i) => JSON.stringify({ source: t, summary: `disk ${i}` })).join('\n') + '\n');

  const r = await cli(
    'adapt',
    '--model',
    model,
    '--target',
    join(dir, 'target'),
    '--train',
    data,
    '--plugin',
    PLUGIN,
    '--metric',
    'example/row-magnitude',
    '--prune-ratio',
    String(RATIO),
    '--epochs',
    '1',
    '--accumulation',
    '1',
    '--batch-size',
    '2',
    '--lr',
    '1e-30',
    '--out',
    join(dir, 'out'),
    '--backend',
    'reference',
    '--json',
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const out = await loadAdapter(nodeFolder(join(dir, 'out')));
  for (const [i, m] of modules.entries()) {
    for (const [name, before, after] of [
      ['A', m.a, out.modules[i].a],
      ['B', m.b, out.modules[i].b],
    ] as const) {
      const values = before.toFloat32();
      const expected = lowest(rowScores(values, before.shape[0], before.shape[1]), RATIO);
      const zeros = new Set([...after.toFloat32().keys()].filter((j) => after.toFloat32()[j] === 0));
      expect(zeros, `${m.name} ${name}`).toEqual(expected);
    }
  }
});
