// Sampling, stop tokens, limits, abort, leaks and the text helpers of
// generation, on the reference backend. Sampling is checked against a
// float64 re-implementation of Hugging Face's warpers written here, and
// every sampled token against a draw recomputed from full forward passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SAMPLING_STREAM,
  Tape,
  Tensor,
  encodeRecord,
  filterLogits,
  generate,
  generateText,
  generateTokens,
  isLoraFuseError,
  philoxUniform,
  promptForSource,
  referenceBackend,
  type Backend,
  type CausalLM,
  type DeviceAdapter,
  type Tokenizer,
} from '@lorafuse/core';
import { loadFixtureModel } from './generate-suite.js';
import { seeded } from './reference-oracle.js';

/** Hugging Face's temperature → top-k → top-p warpers, then softmax, written independently in float64. */
function expectedDistribution(logits: ArrayLike<number>, temperature: number, topK: number, topP: number): number[] {
  const n = logits.length;
  const x = Array.from({ length: n }, (_, i) => logits[i] / temperature);
  // top-k: a token survives when fewer than k tokens are strictly larger.
  const kept = x.map((v) => topK === 0 || x.filter((w) => w > v).length < topK);
  const softmax = (mask: boolean[]) => {
    const max = Math.max(...x.filter((_, i) => mask[i]));
    const e = x.map((v, i) => (mask[i] ? Math.exp(v - max) : 0));
    const total = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / total);
  };
  const p = softmax(kept);
  if (topP >= 1) return p;
  const top = p.indexOf(Math.max(...p));
  // top-p: the ascending cumulative probability up to and including a token (ties: higher id counted as smaller).
  const below = p.map((pi, i) => p.reduce((s, pj, j) => s + (pj < pi || (pj === pi && j > i) ? pj : 0), 0) + pi);
  return softmax(kept.map((k, i) => k && (i === top || below[i] > 1 - topP)));
}

/** A 64-id toy tokenizer: one character per id, id 63 is eos (dropped by decode). */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .\n:;,-';
const toy: Tokenizer = {
  name: 'toy',
  vocabSize: 64,
  eos: 63,
  pad: 62,
  encode: (text) => [...text].map((c) => ALPHABET.indexOf(c) % 62),
  decode: (ids) =>
    ids
      .filter((id) => id < 62)
      .map((id) => ALPHABET[id])
      .join(''),
};

let backend: Backend;
let lm: CausalLM;
let adapters: DeviceAdapter[];
let disposeModel: () => void;
beforeAll(async () => {
  backend = await referenceBackend().create();
  ({ lm, adapters, dispose: disposeModel } = await loadFixtureModel(backend, 'llama-tiny', 'lora-qv-r8'));
});
afterAll(async () => {
  disposeModel();
  await backend.dispose();
});

const PROMPT = [5, 17, 33, 2, 60];

async function lastLogits(ids: number[]): Promise<Float32Array> {
  const tape = new Tape(backend);
  try {
    const logits = lm.forward(tape, tape.constant(new Tensor('i32', [1, ids.length], Int32Array.from(ids))), { adapters }).logits;
    return (await backend.read(logits)).toFloat32().slice((ids.length - 1) * 64);
  } finally {
    tape.dispose();
  }
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLoraFuseError(error) ? error.code : error).toBe(code);
}

describe('top-k / top-p filtering', () => {
  it('matches the float64 re-implementation of the warpers', () => {
    const rng = seeded(11);
    let worst = 0;
    for (const [temperature, topK, topP] of [
      [1, 0, 1],
      [0.7, 5, 1],
      [1.3, 0, 0.9],
      [0.5, 10, 0.8],
      [1, 3, 0.5],
      [2, 1, 1],
      [1, 0, 0.01],
      [0.9, 64, 0.95],
    ]) {
      for (let trial = 0; trial < 5; trial++) {
        const logits = Float32Array.from({ length: 64 }, () => (rng() - 0.5) * 8);
        const got = filterLogits(logits, { temperature, topK, topP });
        const expected = expectedDistribution(logits, temperature, topK, topP);
        worst = Math.max(worst, ...expected.map((e, i) => Math.abs(got[i] - e)));
        expect(got.map((v) => (v > 0 ? 1 : 0))).toEqual(Float64Array.from(expected, (v) => (v > 0 ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('keeps ties at the top-k threshold', () => {
    const got = filterLogits([1, 3, 2, 3, 2, 0], { topK: 3 });
    expect(Array.from(got, (v) => v > 0)).toEqual([false, true, true, true, true, false]);
  });
});

describe('sampling', () => {
  const decoding = { kind: 'sample', temperature: 0.8, topK: 20, topP: 0.9, seed: 7 } as const;

  it('draws every token from the filtered distribution with the Philox stream of its seed', async () => {
    const { tokens } = await generate(lm, PROMPT, { maxNewTokens: 12, adapters, decoding });
    expect(tokens).toHaveLength(12);
    for (let step = 0; step < tokens.length; step++) {
      const p = expectedDistribution(await lastLogits([...PROMPT, ...tokens.slice(0, step)]), 0.8, 20, 0.9);
      const u = philoxUniform(7, SAMPLING_STREAM, step);
      let cumulative = 0;
      const expected = p.findIndex((pi) => {
        cumulative += pi;
        return cumulative > u;
      });
      expect(tokens[step], `step ${step}`).toBe(expected);
    }
  });

  it('repeats for a seed and changes with it', async () => {
    const run = (seed: number) => generate(lm, PROMPT, { maxNewTokens: 16, adapters, decoding: { ...decoding, seed } });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
  });

  it('with topK 1 is greedy decoding', async () => {
    const greedy = await generate(lm, PROMPT, { maxNewTokens: 10, adapters });
    const sampled = await generate(lm, PROMPT, { maxNewTokens: 10, adapters, decoding: { kind: 'sample', topK: 1, seed: 3 } });
    expect(sampled.tokens).toEqual(greedy.tokens);
  });
});

describe('limits, stop tokens, abort and memory', () => {
  it('stops at a stop token (kept) or at maxNewTokens', async () => {
    const free = await generate(lm, PROMPT, { maxNewTokens: 9, adapters });
    expect(free).toMatchObject({ finishReason: 'length' });
    expect(free.tokens).toHaveLength(9);
    const stop = free.tokens[4];
    const stopped = await generate(lm, PROMPT, { maxNewTokens: 9, adapters, stopTokens: [stop, 63] });
    expect(stopped).toEqual({ tokens: free.tokens.slice(0, free.tokens.indexOf(stop) + 1), finishReason: 'stop' });
  });

  it('ends with aborted between steps, and frees the cache on abort, early return and errors', async () => {
    const before = backend.memory().tensors;
    const controller = new AbortController();
    const iterator = generateTokens(lm, PROMPT, { maxNewTokens: 20, adapters, signal: controller.signal });
    const got = [(await iterator.next()).value, (await iterator.next()).value];
    controller.abort();
    expect(await iterator.next()).toEqual({ done: true, value: 'aborted' });
    expect(got).toHaveLength(2);
    expect(await generate(lm, PROMPT, { maxNewTokens: 5, signal: AbortSignal.abort() })).toEqual({ tokens: [], finishReason: 'aborted' });
    const beam = await generate(lm, PROMPT, { maxNewTokens: 5, decoding: { kind: 'beam', numBeams: 3 }, signal: AbortSignal.abort() });
    expect(beam.finishReason).toBe('aborted');
    for await (const token of generateTokens(lm, PROMPT, { maxNewTokens: 20, decoding: { kind: 'beam', numBeams: 2 } })) {
      expect(token).toBeGreaterThanOrEqual(0);
      break;
    }
    const early = generateTokens(lm, PROMPT, { maxNewTokens: 20 });
    await early.next();
    await early.return('aborted');
    expect(backend.memory().tensors).toBe(before);
  });

  it('keeps prompt plus new tokens within the context, with typed errors for what cannot fit', async () => {
    const { lm: mistral, dispose } = await loadFixtureModel(backend, 'mistral-tiny', null);
    try {
      // mistral-tiny: 128 positions; its sliding window of 64 limits what each position sees, not the context.
      const long = Array.from({ length: 124 }, (_, i) => (i * 7) % 64);
      expect(await generate(mistral, long, { maxNewTokens: 10 })).toMatchObject({ finishReason: 'length', tokens: { length: 4 } });
      await expectCode(generate(mistral, [...long, 1, 2, 3, 4], { maxNewTokens: 1 }), 'CONTEXT_EXCEEDED');
    } finally {
      dispose();
    }
  });

  it('rejects bad requests with INVALID_OPTION', async () => {
    const before = backend.memory().tensors;
    await expectCode(generate(lm, [], { maxNewTokens: 3 }), 'INVALID_OPTION');
    await expectCode(generate(lm, [1, 64], { maxNewTokens: 3 }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 0 }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 3, stopTokens: [-1] }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 3, decoding: { kind: 'sample', temperature: 0 } }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 3, decoding: { kind: 'sample', topP: 0 } }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 3, decoding: { kind: 'beam', numBeams: 0 } }), 'INVALID_OPTION');
    await expectCode(generate(lm, PROMPT, { maxNewTokens: 3, decoding: { kind: 'beams' } as never }), 'INVALID_OPTION');
    expect(backend.memory().tensors).toBe(before);
  });
});

describe('text helpers', () => {
  it('builds the prompt of a {source} record as encodeRecord does, cutting the end of the source', () => {
    const source = 'the quick brown fox jumps over the lazy dog '.repeat(4);
    for (const [maxLength, template] of [
      [40, undefined],
      [200, 'Summary of: {source}\nSummary:'],
      [30, '{source}\nTL;DR: '],
    ] as const) {
      // 'abc' and the eos: four target tokens, one more than the one new token of promptForSource.
      const fromTraining = encodeRecord({ kind: 'pair', source, summary: 'abc' }, toy, { maxLength: maxLength + 3, template }).ids.slice(0, -4);
      expect(promptForSource(toy, source, { maxLength, maxNewTokens: 1, template })).toEqual(fromTraining);
    }
    expect(() => promptForSource(toy, 'x', { maxLength: 5, maxNewTokens: 3 })).toThrow(/context of 5/);
  });

  it('streams text pieces that add up to the decoded tokens', async () => {
    const pieces: string[] = [];
    const iterator = generateText(lm, toy, { source: 'hello world' }, { maxNewTokens: 12, adapters, stopTokens: [toy.eos!] });
    let next = await iterator.next();
    for (; !next.done; next = await iterator.next()) pieces.push(next.value);
    const result = next.value;
    expect(pieces.join('')).toBe(result.text);
    expect(result.text).toBe(toy.decode(result.tokens));
    const expected = await generate(lm, promptForSource(toy, 'hello world', { maxLength: 128, maxNewTokens: 12 }), {
      maxNewTokens: 12,
      adapters,
      stopTokens: [63],
    });
    expect(result.tokens).toEqual(expected.tokens);
  });
});
