// `lorafuse merge` end to end on the PEFT merge fixtures: the adapter it
// writes is loaded back and compared, module by module, with the B·A·scaling
// PEFT's add_weighted_adapter produced.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseDelta, MERGE_FIXTURES, mergeCases, mergeReferences, peftDelta } from '../../core/test/merge-fixtures.js';
import { relL2 as relativeError } from '../../core/test/reference-oracle.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-merge-'));
const input = (name: string) => join(MERGE_FIXTURES, 'adapters', name);
let references: Awaited<ReturnType<typeof mergeReferences>>;

beforeAll(async () => {
  references = await mergeReferences();
});

describe('lorafuse merge', () => {
  it.each([
    ['mixed-ties_svd-frequency', ['--density', '0.5', '--rank', '5', '--majority-sign', 'frequency']],
    ['equal-magnitude_prune', ['--density', '0.5']],
    ['mixed-cat', []],
  ])('%s: the written adapter matches PEFT ≤ 1e-5 relative', async (name, flags) => {
    const c = mergeCases.find((x) => x.name === name)!;
    const out = join(dir, name);
    const {
      code,
      out: stdout,
      err,
    } = await cli('merge', ...c.adapters.map(input), '--method', c.combination_type, '--weights', c.weights.join(','), ...flags, '--out', out, '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ method: c.combination_type, out, r: c.r, lora_alpha: c.lora_alpha, options: { weights: c.weights } });
    const merged = await loadAdapter(nodeFolder(out));
    expect(merged.modules.map((m) => [m.name, m.rank, m.scaling])).toEqual(c.modules.map((m) => [m.name, m.rank, m.scaling]));
    for (const m of merged.modules) expect(relativeError(denseDelta(m), await peftDelta(references, name, m.name)), m.name).toBeLessThanOrEqual(1e-5);
  });

  it('prints a table without --json, and DARE is reproducible by --seed', async () => {
    const args = (out: string, seed: string) => [
      'merge',
      input('eq0'),
      input('eq1'),
      '--method',
      'dare_ties',
      '--density',
      '0.5',
      '--seed',
      seed,
      '--out',
      join(dir, out),
    ];
    const first = await cli(...args('dare-a', '3'));
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^Merged 2 adapters with dare_ties into .*dare-a: r=4/);
    await cli(...args('dare-b', '3'));
    await cli(...args('dare-c', '4'));
    const [a, b, c] = await Promise.all(['dare-a', 'dare-b', 'dare-c'].map((d) => loadAdapter(nodeFolder(join(dir, d)))));
    expect(a.modules[0].a.data).toEqual(b.modules[0].a.data);
    expect(a.modules[0].a.data).not.toEqual(c.modules[0].a.data);
  });

  it.each([
    ['an unknown method', ['--method', 'average'], 1, 'PLUGIN_NOT_FOUND'],
    ['a weight count that is not one per adapter', ['--method', 'linear', '--weights', '1,2,3'], 1, 'INVALID_OPTION'],
    ['weights that are not numbers', ['--method', 'linear', '--weights', '1,x'], 2, 'CLI_USAGE'],
    ['a density out of range', ['--method', 'ties', '--density', '2'], 1, 'INVALID_OPTION'],
    ['an unknown majority-sign method', ['--method', 'ties', '--density', '0.5', '--majority-sign', 'mean'], 2, 'CLI_USAGE'],
    ['adapters of different ranks for linear', ['--method', 'linear', '--mixed'], 1, 'MERGE_INCOMPATIBLE'],
    ['no --out', ['--method', 'cat', '--no-out'], 2, 'CLI_USAGE'],
  ])('refuses %s', async (_, flags, exit, code) => {
    const inputs = flags.includes('--mixed') ? [input('mx0'), input('mx1')] : [input('eq0'), input('eq1')];
    const rest = flags.filter((f) => f !== '--mixed' && f !== '--no-out');
    const out = flags.includes('--no-out') ? [] : ['--out', join(dir, 'refused')];
    const result = await cli('merge', ...inputs, ...rest, ...out, '--json');
    expect(result.code).toBe(exit);
    expect(JSON.parse(result.out).error.code).toBe(code);
    expect(result.err).toMatch(new RegExp(`^lorafuse: .*\\[${code}\\]\\n$`));
  });
});
