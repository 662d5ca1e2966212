// The method's factor importance (`lora` metric, loraImportance kernel)
// against PyTorch autograd of S = Σ|B·A|⊙n, recorded by
// scripts/fixtures/make_prune_fixtures.py; and the masks it leads to against
// a float64 sort over those autograd values, for every grouping.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PluginRegistry, Pruner, ReferenceBackend, SafetensorsFile, type Tensor } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { loraMetric, registerPruningPlugins } from '@lorafuse/plugins';
import { groupedSortMask, sortMask } from './pruning-reference.js';

const FILE = fileURLToPath(new URL('../../core/test/fixtures/prune/importance.safetensors', import.meta.url));
const file = await SafetensorsFile.open(await fileSource(FILE));
const cases: string[] = JSON.parse(file.metadata.fixture).cases;
const read = (name: string): Promise<Tensor> => file.read(name);

interface Case {
  name: string;
  a: Tensor;
  b: Tensor;
  n: Tensor;
  gradA: Float32Array;
  gradB: Float32Array;
}
const loaded: Case[] = await Promise.all(
  cases.map(async (name) => ({
    name,
    a: await read(`${name}.A`),
    b: await read(`${name}.B`),
    n: await read(`${name}.n`),
    gradA: (await read(`${name}.grad_A`)).data as Float32Array,
    gradB: (await read(`${name}.grad_B`)).data as Float32Array,
  })),
);

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e === 0) expect(actual[i], `${what}[${i}] must be exactly 0`).toBe(0);
    else expect(Math.abs(actual[i] - e), `${what}[${i}]: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(e), 1e-3 * scale));
  }
}

describe('lora importance vs PyTorch autograd of Σ|B·A|⊙n', () => {
  it('covers random factors, exact zeros and integer ties', () => {
    expect(cases).toEqual(['random', 'zeros', 'ties', 'paper']);
  });

  it.each(loaded.map((c) => [c.name, c] as const))('%s: |∂S/∂A| and |∂S/∂B| within 1e-5 relative', async (_name, c) => {
    const backend = new ReferenceBackend();
    const [a, b, n] = [c.a, c.b, c.n].map((t) => backend.upload(t));
    const scores = await loraMetric.score({
      backend,
      module: { name: 'm', a, b, inputNorms: n },
      step: 0,
      state: { get: () => undefined, set: () => undefined },
    });
    expectClose((await backend.read(scores.a)).data as Float32Array, c.gradA, `${c.name} A`);
    expectClose((await backend.read(scores.b)).data as Float32Array, c.gradB, `${c.name} B`);
    await backend.dispose();
  });

  async function prunerMasks(use: readonly Case[], grouping: string, ratio: number): Promise<Uint8Array[]> {
    const backend = new ReferenceBackend();
    const pruner = new Pruner({ backend, plugins: registerPruningPlugins(new PluginRegistry()), metric: 'lora', grouping, ratio, masks: 'persistent' });
    const modules = use.map((c) => ({ name: c.name, a: backend.upload(c.a), b: backend.upload(c.b), inputNorms: backend.upload(c.n) }));
    await pruner.prune(modules);
    const masks = await Promise.all(
      modules.flatMap((m) => [pruner.mask(m.name, 'A')!, pruner.mask(m.name, 'B')!].map(async (t) => (await backend.read(t)).data as Uint8Array)),
    );
    pruner.dispose();
    await backend.dispose();
    return masks;
  }

  it.each([0.3, 0.5, 0.7])('at ratio %s the pruner masks what a float64 sort of the autograd values gives, for module, row and global', async (ratio) => {
    const sizes = loaded.flatMap((c) => [c.gradA.length, c.gradB.length]);
    const grads = loaded.flatMap((c) => [c.gradA, c.gradB]);
    const cols = loaded.flatMap((c) => [c.a.shape[1], c.b.shape[1]]);
    const expected: Record<string, Uint8Array[]> = {
      module: grads.map((g) => sortMask(g, Math.floor(ratio * g.length + 1e-9))),
      row: grads.map((g, i) => groupedSortMask(g, cols[i], Math.floor(ratio * cols[i] + 1e-9))),
      global: split(sortMask(concat(grads), Math.floor(ratio * sizes.reduce((x, y) => x + y) + 1e-9)), sizes),
    };
    for (const [grouping, masks] of Object.entries(expected)) {
      const got = await prunerMasks(loaded, grouping, ratio);
      got.forEach((g, i) => {
        expect(Array.from(g), `${grouping} tensor ${i}`).toEqual(Array.from(masks[i]));
      });
    }
  });

  it.each([
    ['2:4', 4, 2],
    ['4:8', 8, 4],
  ])('%s keeps the top N of every M consecutive input weights', async (grouping, m, n) => {
    const paper = loaded.filter((c) => c.name === 'paper');
    const got = await prunerMasks(paper, grouping, 1 - n / m);
    const expected = [paper[0].gradA, paper[0].gradB].map((g) => groupedSortMask(g, m, m - n));
    got.forEach((g, i) => {
      expect(Array.from(g), `tensor ${i}`).toEqual(Array.from(expected[i]));
    });
  });
});

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function split(mask: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  let o = 0;
  return sizes.map((s) => {
    o += s;
    return mask.slice(o - s, o);
  });
}
