// `lorafuse bench train`: the JSON Lines contract, the FLOP count its GFLOP/s
// rest on (against an independent count over the model's weight list), and a
// PyTorch side that is missing or fails, which is reported and skipped.
// Speed itself is what the bench measures; nothing here asserts it.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedModelWeights, parseModelConfig, type ModelConfig } from '@lorafuse/core';
import { describe, expect, it } from 'vitest';
import { TRAIN_BENCH_CONFIGS, type TrainBenchConfig } from '../src/bench/train-configs.js';
import { trainStepFlops } from '../src/bench/train-flops.js';
import { findPython } from '../src/bench/train-torch.js';
import { benchTrain } from '../src/commands/bench-train.js';
import { enableRelaxedSimd } from '../src/relaxed-simd.js';
import { captureIO } from './cli-helpers.js';

// As the command does, so that `--simd relaxed` runs on Node 20 too.
enableRelaxedSimd();

/** A Llama small enough to train in milliseconds on the reference backend. */
const MICRO: TrainBenchConfig = {
  model: {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 64,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    hidden_act: 'silu',
  },
  batch: 2,
  seq: 16,
};
const configs = { micro: MICRO };

/**
 * FLOPs of one LoRA training step counted over the model's weight list:
 * each frozen matrix (the tied embedding once, as the head) 2 FLOPs per
 * multiply-add forward and again for its input gradient; each LoRA pair
 * x·Aᵀ then ·Bᵀ forward and four products of those sizes backward; attention
 * per layer, sequence and head two S×S×D products forward and four backward.
 */
function independentFlops(config: ModelConfig, batch: number, seq: number, targets: readonly string[], r: number): number {
  const n = batch * seq;
  let macs = 0;
  for (const { name, shape } of expectedModelWeights(config)) {
    if (shape.length !== 2) continue;
    const [out, inp] = shape;
    macs += 2 * out * inp * n; // forward, then dX = dY·W
    if (targets.some((t) => name.endsWith(`.${t}.weight`))) macs += 3 * (inp * r + r * out) * n; // forward + dA, dB, dX through A and B
  }
  const { numHiddenLayers, numAttentionHeads, headDim } = config;
  for (let l = 0; l < numHiddenLayers; l++) for (let b = 0; b < batch; b++) for (let h = 0; h < numAttentionHeads; h++) macs += 6 * seq * seq * headDim;
  return 2 * macs;
}

/** A stand-in for Python: a shell script run with the bench's script as its argument (ignored), doing what `body` says. */
function fakePython(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bench-train-test-')), 'python');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const TORCH_INFO = { threads: 1, attn: 'sdpa', torch: '9.9', transformers: '8.8', peft: '7.7' };
/** Speaks the bench's protocol: reads the job, reports versions, then answers every step in 250 ms and every matmul in 0.5 ms. */
const FAKE_TORCH = `read job\necho '${JSON.stringify(TORCH_INFO)}'\nwhile read cmd; do if [ "$cmd" = step ]; then echo '{"ms": 250}'; else echo '{"ms": 0.5}'; fi; done`;
const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const MICRO_RUN = ['--config', 'micro', '--backend', 'reference', '--steps', '2', '--warmup', '1', '--json', '--quiet'];

describe('trainStepFlops', () => {
  it('matches a count over the weight list for the bench configs, q_proj,v_proj and all seven', () => {
    const all = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
    for (const spec of Object.values(TRAIN_BENCH_CONFIGS)) {
      const config = parseModelConfig(spec.model);
      for (const targets of [['q_proj', 'v_proj'], all]) {
        expect(trainStepFlops(config, spec.batch, spec.seq, targets, 8).total).toBe(independentFlops(config, spec.batch, spec.seq, targets, 8));
      }
    }
    // tiny: 39.1 GFLOP per step with q_proj,v_proj, a number to read the docs' figures by.
    const tiny = TRAIN_BENCH_CONFIGS.tiny;
    expect(trainStepFlops(parseModelConfig(tiny.model), tiny.batch, tiny.seq, ['q_proj', 'v_proj'], 8).total / 1e9).toBeCloseTo(39.1, 1);
  });
});

describe('lorafuse bench train', () => {
  it("prints our matmul and PyTorch's, then the torch training line and ours, with tokens/s, GFLOP/s and the ratios", async () => {
    const { io: sink, text: io } = captureIO();
    const code = await benchTrain(MICRO_RUN, sink, { configs, python: () => fakePython(FAKE_TORCH) });
    expect(code).toBe(0);
    const [matmul, torchMatmul, torch, ours] = lines(io.out);
    expect(matmul).toMatchObject({ bench: 'matmul', impl: 'lorafuse', backend: 'reference', threads: 1, m: 32, k: 32, n: 48 });
    expect(torchMatmul).toMatchObject({ bench: 'matmul', impl: 'torch', backend: 'cpu', threads: 1, m: 32, k: 32, n: 48, median_ms: 0.5 });
    expect(torchMatmul.gflops).toBeCloseTo((2 * 32 * 32 * 48) / (0.5 * 1e6), 9);
    expect((matmul.ratio as Record<string, number>).torch).toBeCloseTo((matmul.gflops as number) / (torchMatmul.gflops as number), 9);
    const common = { bench: 'train', config: 'micro', targets: 'q_proj,v_proj', batch: 2, seq: 16, threads: 1 };
    expect(torch).toMatchObject({
      ...common,
      impl: 'torch',
      backend: 'cpu',
      attn: 'sdpa',
      median_step_ms: 250,
      versions: { torch: '9.9', transformers: '8.8', peft: '7.7' },
    });
    expect(ours).toMatchObject({ ...common, impl: 'lorafuse', backend: 'reference' });
    const flops = independentFlops(parseModelConfig(MICRO.model), 2, 16, ['q_proj', 'v_proj'], 8);
    for (const line of [torch, ours]) {
      const ms = line.median_step_ms as number;
      expect(ms).toBeGreaterThan(0);
      expect(line.tokens_per_s).toBeCloseTo((2 * 16 * 1000) / ms, 6);
      expect(line.gflops).toBeCloseTo(flops / (ms * 1e6), 9);
    }
    expect(ours.vs_torch).toBeCloseTo((ours.tokens_per_s as number) / (torch.tokens_per_s as number), 9);
    expect(ours.vs_matmul).toBeCloseTo((ours.gflops as number) / (matmul.gflops as number), 9);
    expect(matmul.gflops).toBeCloseTo((2 * 32 * 32 * 48) / ((matmul.median_ms as number) * 1e6), 9);
    expect(ours.simd_peak_gflops).toBeUndefined(); // a wasm figure only
    expect(ours.peak_bytes_in_use).toBeUndefined(); // the reference backend keeps no high-water marks
  });

  it('with --adapt, times adapt() against plain training of the same adapters, interleaved, without PyTorch', async () => {
    const { io: sink, text: io } = captureIO();
    let asked = false;
    const code = await benchTrain([...MICRO_RUN, '--adapt', '--related', '2', '--ratio', '0.25'], sink, {
      configs,
      python: () => {
        asked = true;
        return undefined;
      },
    });
    expect(code).toBe(0);
    expect(asked).toBe(false);
    const [matmul, plain, adapted] = lines(io.out);
    expect(matmul).toMatchObject({ bench: 'matmul', impl: 'lorafuse' });
    expect(plain).toMatchObject({ bench: 'train', impl: 'lorafuse', backend: 'reference', config: 'micro' });
    expect(adapted).toMatchObject({ bench: 'train', impl: 'lorafuse-adapt', backend: 'reference', related: 2, ratio: 0.25, normSource: 'running' });
    expect(adapted.vs_train).toBeCloseTo((adapted.median_step_ms as number) / (plain.median_step_ms as number), 9);
    // CPU time of the process over each step, in ms: some, and not more than a few threads (JavaScript, the GC) could spend in its wall time.
    for (const line of [plain, adapted]) {
      expect(line.median_step_cpu_ms).toBeGreaterThan(0);
      expect(line.median_step_cpu_ms).toBeLessThan(4 * (line.median_step_ms as number) + 100);
    }
    expect(adapted.vs_train_cpu).toBeCloseTo((adapted.median_step_cpu_ms as number) / (plain.median_step_cpu_ms as number), 9);
    expect(adapted.tokens_per_s).toBeCloseTo((2 * 16 * 1000) / (adapted.median_step_ms as number), 6);
    await expect(benchTrain([...MICRO_RUN, '--ratio', '0.5'], sink, { configs, python: () => undefined })).rejects.toMatchObject({ code: 'CLI_USAGE' });
  });

  it("on wasm, adds the SIMD peak of as many threads and the training's fraction of it", async () => {
    const { io: sink, text: io } = captureIO();
    expect(
      await benchTrain(['--config', 'micro', '--backend', 'wasm', '--threads', '2', '--steps', '1', '--warmup', '0', '--json', '--quiet'], sink, {
        configs,
        python: () => undefined,
      }),
    ).toBe(0);
    const [, ours] = lines(io.out);
    expect(ours).toMatchObject({ impl: 'lorafuse', backend: 'wasm', threads: 2 });
    expect(ours.simd_peak_gflops).toBeGreaterThan(0);
    expect(ours.vs_simd_peak).toBeCloseTo((ours.gflops as number) / (ours.simd_peak_gflops as number), 9);
    // The arena's high-water marks over the run: the top is at least what was in use at once.
    expect(ours.peak_bytes_in_use).toBeGreaterThan(0);
    expect(ours.peak_top).toBeGreaterThanOrEqual(ours.peak_bytes_in_use as number);
  });

  it("names the SIMD peak and the training's share of it in the table", async () => {
    const { io: sink, text: io } = captureIO();
    const asked: Array<[number, boolean]> = [];
    const simdPeak = (threads: number, relaxed: boolean) => {
      asked.push([threads, relaxed]);
      return Promise.resolve(80);
    };
    expect(
      await benchTrain(['--config', 'micro', '--backend', 'wasm', '--simd', 'relaxed', '--steps', '1', '--warmup', '0', '--quiet'], sink, {
        configs,
        python: () => undefined,
        simdPeak,
      }),
    ).toBe(0);
    // Measured in the build the backend ran.
    expect(asked).toEqual([[1, true]]);
    const gflops = Number(/lorafuse\s+wasm\s+\S+\s+\S+\s+(\S+)/.exec(io.out)?.[1]);
    expect(gflops).toBeGreaterThan(0);
    // The table rounds GFLOP/s to two decimals, the sentence the share to a whole percent.
    const share = /, (\d+) % of the SIMD peak \(80\.0 GFLOP\/s: multiply-adds on registers alone, 1 thread\(s\)\)/.exec(io.out);
    expect(share).not.toBeNull();
    expect(Math.abs(Number(share![1]) - (gflops / 80) * 100)).toBeLessThanOrEqual(0.51);
  });

  it('reports a SIMD peak that fails on stderr and still prints the training line without it', async () => {
    const { io: sink, text: io } = captureIO();
    const simdPeak = () => Promise.reject(new Error('a round of the SIMD peak took over 20 s'));
    expect(
      await benchTrain(['--config', 'micro', '--backend', 'wasm', '--steps', '1', '--warmup', '0', '--json', '--quiet'], sink, {
        configs,
        python: () => undefined,
        simdPeak,
      }),
    ).toBe(0);
    expect(io.err).toContain('skipped the SIMD peak: a round of the SIMD peak took over 20 s');
    const [, ours] = lines(io.out);
    expect(ours).toMatchObject({ impl: 'lorafuse', backend: 'wasm' });
    expect(ours.simd_peak_gflops).toBeUndefined();
    expect(ours.vs_simd_peak).toBeUndefined();
  });

  it('reports a missing Python and a failing PyTorch run on stderr, and still measures ours', async () => {
    const failing = fakePython(`echo 'Traceback (most recent call last):' >&2\necho "ModuleNotFoundError: No module named 'peft'" >&2\nexit 3`);
    // Starts, answers two requests (the untimed matmul and the first step), then dies mid-run.
    const dying = fakePython(
      `read job\necho '${JSON.stringify(TORCH_INFO)}'\nread cmd\necho '{"ms": 1}'\nread cmd\necho '{"ms": 250}'\necho 'Killed' >&2\nexit 137`,
    );
    const cases = [
      [undefined, 'no Python found'],
      [failing, "exited with 3: ModuleNotFoundError: No module named 'peft'"],
      [dying, 'exited with 137: Killed'],
    ] as const;
    for (const [python, why] of cases) {
      const { io: sink, text: io } = captureIO();
      expect(await benchTrain([...MICRO_RUN, '--targets', 'all'], sink, { configs, python: () => python })).toBe(0);
      expect(io.err).toContain(`skipped torch: `);
      expect(io.err).toContain(why);
      const [matmul, ours] = lines(io.out);
      expect(matmul.bench).toBe('matmul');
      expect(ours).toMatchObject({ bench: 'train', impl: 'lorafuse', targets: 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj' });
      expect(ours.vs_torch).toBeUndefined();
      expect(ours.gflops).toBeCloseTo(
        independentFlops(parseModelConfig(MICRO.model), 2, 16, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], 8) /
          ((ours.median_step_ms as number) * 1e6),
        9,
      );
    }
  });

  it('rejects an unknown projection, threads or a SIMD build off wasm, and an unknown config', async () => {
    const { io: sink } = captureIO();
    const code = (argv: string[]) =>
      benchTrain(argv, sink, { configs, python: () => undefined }).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    expect(await code(['--config', 'micro', '--backend', 'reference', '--targets', 'q_proj,qq_proj'])).toBe('CLI_USAGE');
    expect(await code(['--config', 'micro', '--backend', 'reference', '--threads', '2'])).toBe('CLI_USAGE');
    expect(await code(['--config', 'micro', '--backend', 'reference', '--simd', 'relaxed'])).toBe('CLI_USAGE');
    expect(await code(['--config', 'tiny', '--backend', 'reference'])).toBe('CLI_USAGE');
  });
});

// The real PyTorch + PEFT script, on the micro config, where the offline Python stack is present.
const python = findPython(process.env, fileURLToPath(new URL('../../..', import.meta.url)));
describe.skipIf(!python)('lorafuse bench train against PyTorch + PEFT', () => {
  it('runs the PyTorch script and reports its versions and step time', async () => {
    const { io: sink, text: io } = captureIO();
    expect(await benchTrain([...MICRO_RUN, '--warmup', '0', '--steps', '1'], sink, { configs, python: () => python })).toBe(0);
    expect(io.err).not.toContain('skipped');
    const [, torchMatmul, torch, ours] = lines(io.out);
    expect(torch).toMatchObject({ impl: 'torch', threads: 1 });
    expect(torch.median_step_ms).toBeGreaterThan(0);
    expect(torchMatmul.median_ms).toBeGreaterThan(0);
    expect(ours.vs_torch).toBeGreaterThan(0);
  });
});
