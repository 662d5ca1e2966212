// `lorafuse prune` and `lorafuse bench prune` end to end: the pruned adapter
// is compared entry by entry with a float64 reference (importance by the
// closed form, selection by a full sort), written independently here.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAdapterConfig, createLoraModule, loadAdapter, saveAdapter, Tensor, writeSafetensors } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { loraImportance64, mat, sortMask, groupedSortMask } from '../../plugins/test/pruning-reference.js';
import { cliPlugins, cliRuntime } from '../src/runtime.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-prune-'));
const R = 4;
const IN = 12;
const OUT = 8;
const names = ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj'];

const u = lcg(12345);
const rand = () => u() * 2 - 1;
const host = names.map((name) => ({
  name,
  a: Float32Array.from({ length: R * IN }, rand),
  b: Float32Array.from({ length: OUT * R }, rand),
  n: Float32Array.from({ length: IN }, () => Math.abs(rand()) * 2),
}));

const config = createAdapterConfig({ r: R, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] });
await saveAdapter(nodeFolder(join(dir, 'adapter')), {
  config,
  modules: host.map((m) => createLoraModule(config, m.name, Tensor.f32([R, IN], m.a), Tensor.f32([OUT, R], m.b))),
});
await writeSafetensors(nodeFolder(dir), 'norms.safetensors', Object.fromEntries(host.map((m) => [`${m.name}.input_norms`, Tensor.f32([IN], m.n)])));
const adapter = join(dir, 'adapter');
const norms = join(dir, 'norms.safetensors');

async function loadPruned(out: string) {
  return (await loadAdapter(nodeFolder(out))).modules;
}

describe('lorafuse prune', () => {
  it('prunes by the method’s importance exactly as a float64 sort of the closed form says, and reports per-module sparsity', async () => {
    const out = join(dir, 'lora');
    const r = await cli('prune', adapter, '--metric', 'lora', '--ratio', '0.25', '--norms', norms, '--out', out, '--json', '--backend', 'reference');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({
      metric: 'lora',
      group: 'module',
      ratio: 0.25,
      backend: 'reference',
      parameters: 2 * (R * IN + OUT * R),
      pruned: 2 * (12 + 8),
    });
    expect(summary.modules).toEqual(
      names.map((name) => ({ name, a_sparsity: 0.25, b_sparsity: 0.25, a_pruned: 12, b_pruned: 8, parameters: R * IN + OUT * R })),
    );
    const pruned = await loadPruned(out);
    host.forEach((m, i) => {
      const imp = loraImportance64(mat(R, IN, m.a), mat(OUT, R, m.b), m.n);
      const maskA = sortMask(Array.from(imp.a, Math.fround), 12);
      const maskB = sortMask(Array.from(imp.b, Math.fround), 8);
      expect(pruned[i].name).toBe(m.name);
      expect(Array.from(pruned[i].a.data as Float32Array)).toEqual(Array.from(m.a, (v, j) => (maskA[j] ? 0 : v)));
      expect(Array.from(pruned[i].b.data as Float32Array)).toEqual(Array.from(m.b, (v, j) => (maskB[j] ? 0 : v)));
    });
  });

  it('2:4 needs no ratio and keeps the two largest |θ| of every four inputs', async () => {
    const out = join(dir, 'nm');
    const r = await cli('prune', adapter, '--metric', 'magnitude', '--group', '2:4', '--out', out, '--backend', 'reference');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/50\.00%/);
    const pruned = await loadPruned(out);
    const mask = groupedSortMask(Array.from(host[0].a, Math.abs), 4, 2);
    expect(Array.from(pruned[0].a.data as Float32Array)).toEqual(Array.from(host[0].a, (v, j) => (mask[j] ? 0 : v)));
  });

  it('every backend that initialises here prunes to the same adapter', async () => {
    const runtime = await cliRuntime(cliPlugins(0));
    const outputs: Record<string, string> = {};
    for (const name of runtime.backends.names()) {
      const out = join(dir, `each-${name}`);
      const r = await cli('prune', adapter, '--metric', 'lora', '--ratio', '0.5', '--group', 'row', '--norms', norms, '--out', out, '--backend', name);
      if (r.code !== 0 && /BACKEND_INIT_FAILED|BACKEND_UNAVAILABLE/.test(r.err)) continue;
      expect(r.code, r.err).toBe(0);
      outputs[name] = JSON.stringify((await loadPruned(out)).map((m) => [Array.from(m.a.data as Float32Array), Array.from(m.b.data as Float32Array)]));
    }
    expect(Object.keys(outputs)).toContain('reference');
    for (const [name, o] of Object.entries(outputs)) expect(o, name).toBe(outputs.reference);
  });

  it.each([
    ['lora without --norms', ['--metric', 'lora', '--ratio', '0.5'], 'PRUNE_INPUT_MISSING', /--norms <file\.safetensors>/],
    ['wanda with norms lacking hidden_norms', ['--metric', 'wanda', '--ratio', '0.5', '--norms', norms], 'PRUNE_INPUT_MISSING', /hidden_norms/],
    ['taylor (needs gradients)', ['--metric', 'taylor', '--ratio', '0.5'], 'PRUNE_INPUT_MISSING', /adapt/],
    ['--model without --calib', ['--metric', 'lora', '--ratio', '0.5', '--model', 'm'], 'CLI_USAGE', /--calib/],
    [
      'wanda with --model/--calib (no hidden norms)',
      ['--metric', 'wanda', '--ratio', '0.5', '--model', 'm', '--calib', 'c.jsonl'],
      'PRUNE_INPUT_MISSING',
      /--norms/,
    ],
    ['an unknown metric', ['--metric', 'fisher', '--ratio', '0.5'], 'PLUGIN_NOT_FOUND', /magnitude/],
    ['an unknown grouping', ['--metric', 'magnitude', '--ratio', '0.5', '--group', 'blocks'], 'PLUGIN_NOT_FOUND', /global/],
    ['a ratio above 1', ['--metric', 'magnitude', '--ratio', '1.5'], 'INVALID_OPTION', /\[0, 1\]/],
    ['4:8 on a rank-4 B', ['--metric', 'magnitude', '--group', '4:8'], 'SHAPE_MISMATCH', /multiples of 8/],
    ['a ratio that is not a number', ['--metric', 'magnitude', '--ratio', 'half'], 'CLI_USAGE', /--ratio/],
    ['no --metric', ['--ratio', '0.5'], 'CLI_USAGE', /--metric/],
  ])('fails on %s with one typed line', async (_why, args, code, message) => {
    const r = await cli('prune', adapter, ...args, '--out', join(dir, 'never'));
    expect(r.code).toBe(code === 'CLI_USAGE' ? 2 : 1);
    // Errors found once the backend is up follow auto's `backend:` line.
    expect(
      r.err
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('backend: ')),
    ).toHaveLength(1);
    expect(r.err).toContain(`[${code}]`);
    expect(r.err).toMatch(message);
  });
});

describe('lorafuse bench prune', () => {
  it('prints §5 JSON Lines for the sort baseline and each backend', async () => {
    const r = await cli('bench', 'prune', '--json', '--repeats', '1', '--backend', 'reference');
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.impl, l.backend])).toEqual([
      ['sort-baseline', 'host'],
      ['lorafuse', 'reference'],
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({ bench: 'prune', config: 'tiny', metric: 'lora', params: 4 * (8 * 256 + 256 * 8 + 8 * 256 + 128 * 8) });
      expect(l.median_ms).toBeGreaterThan(0);
      expect(l.ms_per_mparam).toBeCloseTo(l.median_ms / (l.params / 1e6), 9);
    }
    expect(lines[1].vs_sort_baseline).toBeCloseTo(lines[0].median_ms / lines[1].median_ms, 9);
  });

  it('rejects an unknown suite and config', async () => {
    expect((await cli('bench', 'frobnicate')).code).toBe(2);
    expect((await cli('bench', 'prune', '--config', 'huge')).code).toBe(2);
  });
});
