// `lorafuse demo --quick` end to end, then the acceptance check: the written
// adaptive merge + pruning adapter is re-evaluated here from the files alone
// (base model folder, PEFT adapter, test JSONL) with the SDK's loss and a
// greedy decoder written in this test (full forward passes, no KV cache), and
// must match the row the demo printed. Provenance hashes are recomputed with
// node:crypto.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CausalLM,
  encodeRecord,
  evaluateLoss,
  freeAdapter,
  IGNORE_TARGET,
  loadAdapter,
  readJsonl,
  rougeCorpus,
  Tape,
  Tensor,
  uploadAdapter,
  type Backend,
  type DeviceAdapter,
  type PairRecord,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { QUICK_DEMO_SETTINGS } from '@lorafuse/demo';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-demo-'));
const run = await cli('demo', '--quick', '--out', dir, '--no-cache', '--backend', 'wasm', '--seed', '3');

/** Greedy continuation of one prompt by full forward passes, until eos or `max` tokens. */
async function greedy(backend: Backend, model: CausalLM, prompt: readonly number[], adapters: DeviceAdapter[], eos: number, max: number): Promise<number[]> {
  const ids = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    const tape = new Tape(backend);
    const logits = (
      await backend.read(model.forward(tape, tape.constant(new Tensor('i32', [1, ids.length], Int32Array.from(ids))), { adapters }).logits)
    ).toFloat32();
    tape.dispose();
    const last = logits.subarray((ids.length - 1) * model.config.vocabSize);
    const next = last.indexOf(Math.max(...last));
    if (next === eos) break;
    ids.push(next);
    out.push(next);
  }
  return out;
}

describe('lorafuse demo --quick', () => {
  it('prints the five-method table', () => {
    expect(run.code, run.err).toBe(0);
    const methods = run.out
      .split('\n')
      .slice(2)
      .filter(Boolean)
      .map((l) => l.split(/\s+/)[0]);
    expect(methods).toEqual(['base', 'target-only', 'cat-merge', 'adaptive', 'adaptive+prune']);
  });

  it('wrote an adapter whose loss and ROUGE-L, re-evaluated from the files, match the printed row', async () => {
    const printed = run.out
      .split('\n')
      .find((l) => l.startsWith('adaptive+prune '))!
      .trim()
      .split(/\s+/);
    const [loss, rougeL, rougeEn, rougeJa, sparsity, rank] = printed.slice(1).map(Number);
    const result = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
    const backend = await wasmBackend().create();
    const model = await CausalLM.load(backend, nodeFolder(join(dir, 'base-model')));
    const adapter = await loadAdapter(nodeFolder(join(dir, 'adapter')));
    expect(adapter.modules[0].rank).toBe(rank);
    const factors = adapter.modules.flatMap((m) => [...m.a.toFloat32(), ...m.b.toFloat32()]);
    expect(factors.filter((x) => x === 0).length / factors.length).toBeCloseTo(sparsity, 3);
    expect(sparsity).toBeGreaterThan(0.3);

    const tokenizer = new ByteTokenizer();
    const pairs = (await readJsonl(await fileSource(join(dir, 'data/rail-test.jsonl')))) as PairRecord[];
    const examples = pairs.map((p) => encodeRecord(p, tokenizer, { maxLength: model.config.maxPositionEmbeddings, appendEos: true }));
    const device = uploadAdapter(backend, adapter);
    try {
      const measured = await evaluateLoss(backend, model, examples, { adapters: [device], padId: tokenizer.pad });
      expect(Math.abs(measured.loss - loss)).toBeLessThan(6e-5);
      expect(Math.abs(measured.loss - result.rows[4].loss)).toBeLessThan(1e-5 * measured.loss);

      const predictions: string[] = [];
      for (const e of examples) {
        const prompt = e.ids.slice(0, e.targets.findIndex((t) => t !== IGNORE_TARGET) + 1);
        predictions.push(tokenizer.decode(await greedy(backend, model, prompt, [device], tokenizer.eos, QUICK_DEMO_SETTINGS.maxNewTokens)));
      }
      expect(predictions).toEqual(result.rows[4].predictions);
      const japanese = pairs.map((p) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(p.summary));
      const score = (ja: boolean) =>
        rougeCorpus(
          predictions.filter((_, i) => japanese[i] === ja),
          pairs.filter((_, i) => japanese[i] === ja).map((p) => p.summary),
          ja ? 'chars' : 'words',
        ).rougeL;
      expect(score(false)).toBeCloseTo(rougeEn, 3);
      expect(score(true)).toBeCloseTo(rougeJa, 3);
      expect((score(false) + score(true)) / 2).toBeCloseTo(rougeL, 3);
    } finally {
      freeAdapter(backend, device);
      model.dispose();
      await backend.dispose();
    }
  });

  it('records provenance with the hashes of the files the adaptive merge read, and writes the plot', async () => {
    const provenance = JSON.parse(await readFile(join(dir, 'adapter/lorafuse.json'), 'utf8'));
    expect(provenance.format).toBe('lorafuse.adapt/1');
    expect(provenance.seed).toBe(3);
    expect(provenance.options.ratio).toBe(0.5);
    expect(provenance.inputs.map((i: { role: string }) => i.role)).toEqual(['model', 'model', 'target', 'target', ...new Array(8).fill('related'), 'train']);
    for (const input of provenance.inputs) {
      expect(
        createHash('sha256')
          .update(await readFile(join(dir, input.path)))
          .digest('hex'),
      ).toBe(input.sha256);
    }
    const svg = await readFile(join(dir, 'loss-sparsity.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(3);
  });
});
