// `lorafuse adapt --schedule`: a linear ramp over more steps than the run
// leaves the last step's sparsity at ratio·(last 0-based step)/(ramp steps),
// computed here, instead of the full ratio; unknown schedules are refused.
// `--prune-ratio a,b --val dev`: the ratio chosen by dev ROUGE-L, whose score
// `lorafuse eval --metric rouge` on the written adapter reproduces.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-schedule-'));
const model = await writeByteModel(join(dir, 'base'));
const data = join(dir, 'target.jsonl');
writeFileSync(data, ['ls lists', 'cp copies', 'mv moves', 'rm removes'].map((s, i) => JSON.stringify({ source: s, summary: `op ${i}` })).join('\n') + '\n');

describe('lorafuse adapt --schedule', () => {
  it('ramps the ratio linearly over --ramp-steps optimizer steps', async () => {
    const t = await cli(
      'train',
      '--model',
      model,
      '--train',
      data,
      '--rank',
      '4',
      '--epochs',
      '1',
      '--out',
      join(dir, 'target'),
      '--backend',
      'reference',
      '--json',
    );
    expect(t.code, t.err).toBe(0);
    // 4 examples, batch 1, accumulation 1, 2 epochs: 8 steps; the last prune sees step index 7 of a 20-step ramp.
    const run = (extra: string[]) =>
      cli(
        'adapt',
        '--model',
        model,
        '--target',
        join(dir, 'target'),
        '--train',
        data,
        '--epochs',
        '2',
        '--batch-size',
        '1',
        '--accumulation',
        '1',
        '--prune-ratio',
        '0.5',
        '--out',
        join(dir, extra.join('-')),
        '--backend',
        'reference',
        '--json',
        ...extra,
      );
    const ramp = await run(['--schedule', 'linear', '--ramp-steps', '20']);
    expect(ramp.code, ramp.err).toBe(0);
    type Summary = { sparsity: Array<{ module: string; size: number; pruned: number; sparsity: number }> };
    const expected = 0.5 * (7 / 20);
    const sparsity = (JSON.parse(ramp.out) as Summary).sparsity;
    expect(sparsity.length).toBeGreaterThan(0);
    for (const m of sparsity) expect(Math.abs(m.sparsity - expected)).toBeLessThan(0.02);
    const full = await run(['--schedule', 'constant']);
    for (const m of (JSON.parse(full.out) as Summary).sparsity) expect(m.sparsity).toBeCloseTo(0.5, 2);
  });

  it('refuses an unknown schedule', async () => {
    const r = await cli('adapt', '--model', model, '--target', join(dir, 'target'), '--train', data, '--schedule', 'sometimes', '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--schedule must be one of .*linear/);
  });
});

describe('lorafuse adapt --prune-ratio <grid> --val', () => {
  const dev = join(dir, 'dev.jsonl');
  writeFileSync(dev, ['cat prints', 'tee splits'].map((s, i) => JSON.stringify({ source: s, summary: `out ${i}` })).join('\n') + '\n');

  it('runs each ratio, keeps the best by dev ROUGE-L, and the written adapter scores that on dev', async () => {
    const out = join(dir, 'grid');
    const r = await cli(
      'adapt',
      '--model',
      model,
      '--target',
      join(dir, 'target'),
      '--train',
      data,
      '--val',
      dev,
      '--prune-ratio',
      '0,0.6',
      '--epochs',
      '2',
      '--batch-size',
      '2',
      '--accumulation',
      '1',
      '--lr',
      '0.05',
      '--max-new-tokens',
      '6',
      '--out',
      out,
      '--backend',
      'reference',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as {
      grid: { chosen: number; candidates: Array<{ ratio: number; rougeL: number }> };
      sparsity: Array<{ sparsity: number }>;
    };
    expect(summary.grid.candidates.map((c) => c.ratio)).toEqual([0, 0.6]);
    const best = summary.grid.candidates.reduce((b, c) => (c.rougeL > b.rougeL ? c : b));
    expect(summary.grid.chosen).toBe(best.ratio);
    for (const m of summary.sparsity) expect(m.sparsity).toBeCloseTo(best.ratio, 1);
    const evaluated = await cli(
      'eval',
      '--model',
      model,
      '--adapter',
      out,
      '--data',
      dev,
      '--metric',
      'rouge',
      '--max-new-tokens',
      '6',
      '--backend',
      'reference',
      '--json',
    );
    expect(evaluated.code, evaluated.err).toBe(0);
    expect((JSON.parse(evaluated.out) as { rougeL: number }).rougeL).toBeCloseTo(best.rougeL, 6);
  });

  it('needs --val for a grid', async () => {
    const r = await cli('adapt', '--model', model, '--target', join(dir, 'target'), '--train', data, '--prune-ratio', '0.1,0.3', '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs --val/);
  });
});
