// `lorafuse merge --method lorahub --model --data`: LoraHub's weight search
// from the command line. The written adapter must be the static lorahub
// merge at the reported weights, and `lorafuse eval` on it must reproduce
// the reported loss.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAdapterConfig, createLoraModule, loadAdapter, saveAdapter, Tensor } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-lorahub-'));
const model = await writeByteModel(join(dir, 'model'));
const u = lcg(3);
const rand = () => (u() - 0.5) * 0.4;
const config = createAdapterConfig({ r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'] });
const adapters = await Promise.all(
  ['one', 'two', 'three'].map(async (name) => {
    const modules = [0, 1].flatMap((l) =>
      (['q_proj', 'v_proj'] as const).map((p) => {
        const out = p === 'q_proj' ? 32 : 16;
        return createLoraModule(
          config,
          `model.layers.${l}.self_attn.${p}`,
          Tensor.f32([2, 32], Float32Array.from({ length: 64 }, rand)),
          Tensor.f32([out, 2], Float32Array.from({ length: out * 2 }, rand)),
        );
      }),
    );
    await saveAdapter(nodeFolder(join(dir, name)), { config, modules });
    return join(dir, name);
  }),
);
const data = join(dir, 'few.jsonl');
writeFileSync(
  data,
  ['grep finds lines', 'sed edits streams', 'awk scans fields'].map((t, i) => JSON.stringify({ source: t, summary: `tool ${i}` })).join('\n') + '\n',
);
const factors = async (out: string) =>
  (await loadAdapter(nodeFolder(out))).modules.map((m) => [Array.from(m.a.data as Float32Array), Array.from(m.b.data as Float32Array)]);

describe('lorafuse merge --method lorahub --model --data', () => {
  it('searches the weights, writes the merge at them, and eval reproduces the reported loss', async () => {
    const r = await cli(
      'merge',
      ...adapters,
      '--method',
      'lorahub',
      '--model',
      model,
      '--data',
      data,
      '--budget',
      '10',
      '--seed',
      '4',
      '--out',
      join(dir, 'hub'),
      '--backend',
      'reference',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { options: { weights: number[] }; search: { loss: number; objective: number; evaluations: number } };
    const { weights } = summary.options;
    expect(weights).toHaveLength(3);
    expect(summary.search.evaluations).toBe(10);
    expect(summary.search.objective).toBeCloseTo(summary.search.loss + (0.05 * weights.reduce((a, w) => a + Math.abs(w), 0)) / 3, 10);

    const fixed = await cli('merge', ...adapters, '--method', 'lorahub', '--weights', weights.map(String).join(','), '--out', join(dir, 'fixed'), '--json');
    expect(fixed.code).toBe(0);
    expect(await factors(join(dir, 'hub'))).toEqual(await factors(join(dir, 'fixed')));

    const evaluated = await cli('eval', '--model', model, '--adapter', join(dir, 'hub'), '--data', data, '--backend', 'reference', '--json');
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.out).loss).toBeCloseTo(summary.search.loss, 5);
  });

  it.each([
    ['--model without --data', ['--model', model], /--data/],
    ['--weights with --model/--data', ['--model', model, '--data', data, '--weights', '1,1,1'], /either --weights/],
  ])('refuses %s', async (_why, args, message) => {
    const r = await cli('merge', ...adapters, '--method', 'lorahub', ...args, '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
