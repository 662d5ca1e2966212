// Generation checks written against the Backend interface, run by
// generate.test.ts on the reference and wasm backends: cached decoding
// against the full forward pass, and greedy / beam-search tokens against
// transformers' `generate` (fixtures from make_generate_fixtures.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  KVCache,
  Tape,
  Tensor,
  freeAdapter,
  generate,
  loadAdapter,
  uploadAdapter,
  type Backend,
  type Decoding,
  type DeviceAdapter,
} from '@lorafuse/core';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { relL2 } from './reference-oracle.js';

/** One recorded `model.generate` call. */
interface GenerateCase {
  readonly name: string;
  readonly model: string;
  readonly adapter: string | null;
  readonly prompt: number[];
  readonly max_new_tokens: number;
  readonly num_beams: number;
  readonly length_penalty: number;
  readonly early_stopping: boolean;
  readonly stop_token: number | null;
  readonly tokens: number[];
}

/** The transformers cases of fixtures/generate/cases.json. */
const GENERATE_CASES = (JSON.parse(readFileSync(`${FIXTURES}/generate/cases.json`, 'utf8')) as { cases: GenerateCase[] }).cases;

/** Loads a fixture model and optional adapter; `dispose` frees both. */
export async function loadFixtureModel(backend: Backend, model: string, adapter: string | null) {
  const lm = await CausalLM.load(backend, fixtureFolder(model));
  const adapters: DeviceAdapter[] = adapter === null ? [] : [uploadAdapter(backend, await loadAdapter(fixtureFolder(adapter)))];
  return {
    lm,
    adapters,
    dispose: () => {
      for (const a of adapters) freeAdapter(backend, a);
      lm.dispose();
    },
  };
}

/** Logits of the full forward pass `[batch, seq, vocab]` of `rows`, on the host. */
async function fullLogits(lm: CausalLM, rows: number[][], adapters: readonly DeviceAdapter[]): Promise<Float32Array> {
  const tape = new Tape(lm.backend);
  try {
    const ids = tape.constant(new Tensor('i32', [rows.length, rows[0].length], Int32Array.from(rows.flat())));
    return (await lm.backend.read(lm.forward(tape, ids, { adapters }).logits)).toFloat32();
  } finally {
    tape.dispose();
  }
}

/** One cached step: the logits `[batch, s, vocab]` of `rows` after `cache`. */
async function cachedLogits(lm: CausalLM, cache: KVCache, rows: number[][], adapters: readonly DeviceAdapter[]): Promise<Float32Array> {
  const tape = new Tape(lm.backend);
  try {
    const ids = tape.constant(new Tensor('i32', [rows.length, rows[0].length], Int32Array.from(rows.flat())));
    return (await lm.backend.read(lm.decode(tape, ids, cache, { adapters }))).toFloat32();
  } finally {
    tape.dispose();
  }
}

function decodingOf(c: GenerateCase): Decoding {
  return c.num_beams === 1 ? { kind: 'greedy' } : { kind: 'beam', numBeams: c.num_beams, lengthPenalty: c.length_penalty, earlyStopping: c.early_stopping };
}

const SEQUENCES = [
  [3, 14, 15, 9, 26, 53, 58, 9, 7, 32, 38],
  [46, 2, 6, 43, 38, 32, 7, 9, 50, 28, 8],
];

/** Registers the generation tests for one backend; every case checks that it leaves no tensor behind. */
export function generateSuite(label: string, getBackend: () => Backend, log: (line: string) => void = () => {}): void {
  describe(`${label}: cached decoding equals the full forward pass`, () => {
    it.each([
      ['llama-tiny', null],
      ['llama-tiny', 'lora-qv-r8'],
      ['qwen2-tiny', 'lora-qwen2'],
      ['llama3-rope-tiny', null],
      ['mistral-tiny', null],
      // Sliding-window layers (windows 5, 4 and 3 < 11 positions), q/k norms, soft-capped logits. Not
      // Phi-3's LongRoPE: its factors switch once a sequence passes 8 positions, as in transformers, so
      // keys cached before the switch keep the short factors.
      ['qwen3-tiny', 'lora-qwen3'],
      ['gemma3-tiny', 'lora-gemma3'],
      ['gemma3-softcap-tiny', null],
    ] as const)('%s + %s: prompt of 4, then 7 single-token steps, 2 rows, rows swapped half-way', async (model, adapter) => {
      const backend = getBackend();
      const before = backend.memory().tensors;
      const { lm, adapters, dispose } = await loadFixtureModel(backend, model, adapter);
      const cache = new KVCache(backend, lm.config);
      try {
        const vocab = lm.config.vocabSize;
        const seq = SEQUENCES[0].length;
        // Rows 0 and 1 are swapped in the cache after step 3, so from then on row b continues sequence 1 − b.
        const swapAt = 6;
        const rowsAt = (b: number, from: number, to: number) => (from >= swapAt ? SEQUENCES[1 - b] : SEQUENCES[b]).slice(from, to);
        const full = [await fullLogits(lm, SEQUENCES, adapters), await fullLogits(lm, [SEQUENCES[1], SEQUENCES[0]], adapters)];
        let worst = 0;
        const check = (got: Float32Array, position: number, s: number) => {
          for (let b = 0; b < 2; b++) {
            for (let j = 0; j < s; j++) {
              const expected = full[position >= swapAt ? 1 : 0].subarray((b * seq + position + j) * vocab, (b * seq + position + j + 1) * vocab);
              const actual = got.subarray((b * s + j) * vocab, (b * s + j + 1) * vocab);
              worst = Math.max(worst, relL2(actual, expected));
            }
          }
        };
        check(await cachedLogits(lm, cache, [rowsAt(0, 0, 4), rowsAt(1, 0, 4)], adapters), 0, 4);
        for (let p = 4; p < seq; p++) {
          if (p === swapAt) cache.select([1, 0]);
          check(await cachedLogits(lm, cache, [rowsAt(0, p, p + 1), rowsAt(1, p, p + 1)], adapters), p, 1);
        }
        expect(cache.length).toBe(seq);
        log(`${label} ${model}+${adapter ?? 'base'}: cached vs full logits, worst rel L2 ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(1e-5);
      } finally {
        cache.dispose();
        dispose();
      }
      expect(backend.memory().tensors).toBe(before);
    });
  });

  describe(`${label}: greedy and beam search equal transformers' generate`, () => {
    const groups = new Map<string, GenerateCase[]>();
    for (const c of GENERATE_CASES) {
      const key = `${c.model}+${c.adapter ?? 'base'}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    it.each([...groups.entries()])('%s', async (_, cases) => {
      const backend = getBackend();
      const before = backend.memory().tensors;
      const { lm, adapters, dispose } = await loadFixtureModel(backend, cases[0].model, cases[0].adapter);
      try {
        const results = [];
        for (const c of cases) {
          const result = await generate(lm, c.prompt, {
            maxNewTokens: c.max_new_tokens,
            adapters,
            stopTokens: c.stop_token === null ? [] : [c.stop_token],
            decoding: decodingOf(c),
          });
          results.push({ name: c.name, tokens: result.tokens, finishReason: result.finishReason });
        }
        expect(results).toEqual(
          cases.map((c) => ({ name: c.name, tokens: c.tokens, finishReason: c.stop_token !== null && c.tokens.at(-1) === c.stop_token ? 'stop' : 'length' })),
        );
      } finally {
        dispose();
      }
      expect(backend.memory().tensors).toBe(before);
    });
  });
}
