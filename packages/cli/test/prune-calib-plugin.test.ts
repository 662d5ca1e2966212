// `lorafuse prune --model --calib` and `--plugin`. The calibration path must
// prune exactly as `--norms` does with the norms that `collectInputNorms`
// (checked against PyTorch forward hooks in stats.test.ts) gives for the
// same model, adapter and records. The plugin path loads a metric from a
// module written here and checks its choice with a float64 sort in the test.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CausalLM,
  ReferenceBackend,
  collectInputNorms,
  createAdapterConfig,
  createLoraModule,
  encodeRecord,
  freeAdapter,
  loadAdapter,
  saveAdapter,
  Tensor,
  uploadAdapter,
  writeSafetensors,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-prune-calib-'));
const model = await writeByteModel(join(dir, 'model'));
const R = 4;
const names = [0, 1].flatMap((l) => [`model.layers.${l}.self_attn.q_proj`, `model.layers.${l}.self_attn.v_proj`]);
const u = lcg(99);
const rand = () => u() * 2 - 1;
const config = createAdapterConfig({ r: R, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] });
const adapterDir = join(dir, 'adapter');
await saveAdapter(nodeFolder(adapterDir), {
  config,
  modules: names.map((name) => {
    const out = name.endsWith('q_proj') ? 32 : 16;
    return createLoraModule(
      config,
      name,
      Tensor.f32([R, 32], Float32Array.from({ length: R * 32 }, rand)),
      Tensor.f32([out, R], Float32Array.from({ length: out * R }, rand)),
    );
  }),
});
const records = [
  { source: 'grep searches files for patterns', summary: 'search text' },
  { source: 'tar stores and extracts archives', summary: 'archive files' },
];
const calib = join(dir, 'calib.jsonl');
writeFileSync(calib, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

const factors = async (out: string) =>
  (await loadAdapter(nodeFolder(out))).modules.map((m) => [Array.from(m.a.data as Float32Array), Array.from(m.b.data as Float32Array)]);

describe('lorafuse prune --model --calib', () => {
  it('prunes as --norms does with the input norms of the calibration records through the adapted model', async () => {
    const backend = new ReferenceBackend();
    const lm = await CausalLM.load(backend, nodeFolder(model));
    const adapter = await loadAdapter(nodeFolder(adapterDir));
    const device = uploadAdapter(backend, adapter);
    const examples = records.map((r) => encodeRecord({ kind: 'pair', ...r }, new ByteTokenizer(), { maxLength: 128 }));
    const norms = await collectInputNorms(backend, lm, { modules: names, examples, adapters: [device] });
    freeAdapter(backend, device);
    lm.dispose();
    await writeSafetensors(nodeFolder(dir), 'norms.safetensors', Object.fromEntries([...norms].map(([name, t]) => [`${name}.input_norms`, t])));

    const viaNorms = await cli(
      'prune',
      adapterDir,
      '--metric',
      'lora',
      '--ratio',
      '0.4',
      '--norms',
      join(dir, 'norms.safetensors'),
      '--out',
      join(dir, 'by-norms'),
      '--backend',
      'reference',
      '--json',
    );
    const viaCalib = await cli(
      'prune',
      adapterDir,
      '--metric',
      'lora',
      '--ratio',
      '0.4',
      '--model',
      model,
      '--calib',
      calib,
      '--out',
      join(dir, 'by-calib'),
      '--backend',
      'reference',
      '--json',
    );
    expect(viaNorms.err + viaCalib.err).toBe('');
    expect([viaNorms.code, viaCalib.code]).toEqual([0, 0]);
    expect(JSON.parse(viaCalib.out).sparsity).toBeCloseTo(0.4, 2);
    expect(await factors(join(dir, 'by-calib'))).toEqual(await factors(join(dir, 'by-norms')));
  });

  it('refuses --norms together with --model/--calib', async () => {
    const r = await cli(
      'prune',
      adapterDir,
      '--metric',
      'lora',
      '--ratio',
      '0.4',
      '--norms',
      'n.safetensors',
      '--model',
      model,
      '--calib',
      calib,
      '--out',
      join(dir, 'never'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/either --norms or --model/);
  });
});

describe('--plugin', () => {
  // Scores B by minus its magnitude, so B loses its LARGEST entries: a choice no built-in makes.
  const plugin = join(dir, 'largest-first.mjs');
  writeFileSync(
    plugin,
    `export const largestFirst = {
  name: 'test/largest-first', kind: 'importance', apiVersion: 1, description: 'prunes the largest entries of B',
  score: ({ backend, module }) => ({ a: backend.kernels.abs(module.a), b: backend.kernels.scale(backend.kernels.abs(module.b), -1) }),
};
export const unrelated = { answer: 42 };
`,
  );

  it('registers the metrics a module exports, and prune uses them by name', async () => {
    const r = await cli(
      'prune',
      adapterDir,
      '--plugin',
      plugin,
      '--metric',
      'test/largest-first',
      '--ratio',
      '0.25',
      '--out',
      join(dir, 'plugin'),
      '--backend',
      'reference',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const before = await factors(adapterDir);
    const after = await factors(join(dir, 'plugin'));
    for (const [i, [, b]] of before.entries()) {
      const k = Math.floor(b.length * 0.25);
      const largest = new Set(
        b
          .map((v, j) => [Math.abs(v), j])
          .sort((x, y) => y[0] - x[0] || x[1] - y[1])
          .slice(0, k)
          .map(([, j]) => j),
      );
      expect(after[i][1].map((v, j) => (largest.has(j) ? 0 : v))).toEqual(after[i][1]);
      expect(after[i][1].filter((v) => v === 0)).toHaveLength(k);
    }
  });

  it.each([
    ['a missing file', './no-such-plugin.mjs', 'FILE_NOT_FOUND'],
    ['a module without plugins', 'calib.jsonl', 'PLUGIN_INVALID'],
  ])('fails on %s with a typed error', async (_why, spec, code) => {
    const path = spec === 'calib.jsonl' ? calib : spec;
    const r = await cli('prune', adapterDir, '--plugin', path, '--metric', 'magnitude', '--ratio', '0.5', '--out', join(dir, 'never'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`[${code}]`);
  });
});
