// Parity of the built-in mergers with PEFT 0.21 add_weighted_adapter, on the
// golden fixtures of scripts/fixtures/make_merge_fixtures.py.
import { loadAdapter, memoryFolder, saveAdapter, type LoraAdapter, type SafetensorsFile } from '@lorafuse/core';
import { mergerPlugins } from '@lorafuse/plugins';
import { beforeAll, describe, expect, it } from 'vitest';
import { caseOptions, denseDelta, mergeCases, mergeInput, mergeReferences, peftDelta, peftMasks } from '../../core/test/merge-fixtures.js';
import { relL2 as relativeError } from '../../core/test/reference-oracle.js';

const TOLERANCE = 1e-5;
let references: SafetensorsFile;
const inputs = new Map<string, LoraAdapter>();

beforeAll(async () => {
  references = await mergeReferences();
  for (const name of new Set(mergeCases.flatMap((c) => c.adapters))) inputs.set(name, await mergeInput(name));
});

describe('PEFT add_weighted_adapter parity', () => {
  it('has a fixture for every PEFT combination type, on equal and mixed ranks', () => {
    const types = new Set(mergeCases.map((c) => c.combination_type));
    expect([...types].sort()).toEqual(
      [
        'cat',
        'dare_linear',
        'dare_linear_svd',
        'dare_ties',
        'dare_ties_svd',
        'linear',
        'magnitude_prune',
        'magnitude_prune_svd',
        'svd',
        'ties',
        'ties_svd',
      ].sort(),
    );
    expect(mergeCases.some((c) => c.set === 'mixed')).toBe(true);
  });

  it.each(mergeCases.map((c) => [c.name, c] as const))('%s: per-module B·A·scaling matches PEFT ≤ 1e-5 relative', async (name, c) => {
    const plugin = mergerPlugins.find((p) => p.name === c.combination_type)!;
    const adapters = c.adapters.map((a) => inputs.get(a)!);
    const merged = await plugin.merge(adapters, { ...caseOptions(c), dareMasks: await peftMasks(references, name) });
    expect(merged.modules.map((m) => m.name)).toEqual(c.modules.map((m) => m.name));
    for (const [i, m] of merged.modules.entries()) {
      // PEFT's merged config has r = lora_alpha, so the scaling is 1 for every type.
      expect(m.rank, `${m.name} rank`).toBe(c.modules[i].rank);
      expect(m.scaling, `${m.name} scaling`).toBe(c.modules[i].scaling);
      const error = relativeError(denseDelta(m), await peftDelta(references, name, m.name));
      expect(error, `${name} ${m.name}`).toBeLessThanOrEqual(TOLERANCE);
    }
    expect(merged.config.r).toBe(c.r);
    expect(merged.config.loraAlpha).toBe(c.lora_alpha);
  });

  it('saves merged adapters that load back with the same modules, ranks and scalings', async () => {
    const c = mergeCases.find((x) => x.name === 'mixed-cat')!;
    const merged = await mergerPlugins
      .find((p) => p.name === 'cat')!
      .merge(
        c.adapters.map((a) => inputs.get(a)!),
        caseOptions(c),
      );
    const folder = memoryFolder({}, 'merged');
    await saveAdapter(folder, merged);
    const back = await loadAdapter(folder);
    for (const [i, m] of back.modules.entries()) {
      expect([m.rank, m.scaling]).toEqual([merged.modules[i].rank, merged.modules[i].scaling]);
      expect(relativeError(denseDelta(m), await peftDelta(references, c.name, m.name))).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});
