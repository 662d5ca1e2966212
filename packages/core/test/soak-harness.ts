// Long-run memory soak shared by the wasm and WebGPU soak tests and
// scripts/soak-tiny.mjs: trains LoRA q,v (r = 8) on a random-init Llama for
// many one-batch steps and samples the backend's memory footprint plus the
// JS heap (after a forced GC) as it goes.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CausalLM,
  Tensor,
  concatBytes,
  encodeSafetensors,
  initLoraAdapter,
  memoryFolder,
  train,
  uploadAdapter,
  type Backend,
  type Example,
  type WritableFolder,
} from '@lorafuse/core';
import { seeded } from './reference-oracle.js';

/** A Llama shape for the soak. */
export interface SoakModel {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  readonly vocab: number;
}

/** The CI soak model (issue 9: hidden 64, 2 layers) and the design's `tiny` benchmark config. */
const SOAK_MODELS = {
  small: { hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 172, vocab: 256 },
  tiny: { hidden: 256, layers: 4, heads: 4, kvHeads: 2, ffn: 688, vocab: 4096 },
} as const satisfies Record<string, SoakModel>;

/** A model folder (config.json + model.safetensors, tied embeddings) with matrices uniform of standard deviation 0.02, as transformers initialises Llama. */
function randomModelFolder(m: SoakModel, seed = 1): WritableFolder {
  const rand = seeded(seed);
  const headDim = m.hidden / m.heads;
  const matrix = (rows: number, cols: number) =>
    Tensor.f32(
      [rows, cols],
      Float32Array.from({ length: rows * cols }, () => (2 * rand() - 1) * 0.02 * Math.sqrt(3)),
    );
  const ones = () => Tensor.f32([m.hidden], new Float32Array(m.hidden).fill(1));
  const tensors: [string, Tensor][] = [
    ['model.embed_tokens.weight', matrix(m.vocab, m.hidden)],
    ['model.norm.weight', ones()],
  ];
  for (let l = 0; l < m.layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      [`${p}.input_layernorm.weight`, ones()],
      [`${p}.post_attention_layernorm.weight`, ones()],
      [`${p}.self_attn.q_proj.weight`, matrix(m.heads * headDim, m.hidden)],
      [`${p}.self_attn.k_proj.weight`, matrix(m.kvHeads * headDim, m.hidden)],
      [`${p}.self_attn.v_proj.weight`, matrix(m.kvHeads * headDim, m.hidden)],
      [`${p}.self_attn.o_proj.weight`, matrix(m.hidden, m.heads * headDim)],
      [`${p}.mlp.gate_proj.weight`, matrix(m.ffn, m.hidden)],
      [`${p}.mlp.up_proj.weight`, matrix(m.ffn, m.hidden)],
      [`${p}.mlp.down_proj.weight`, matrix(m.hidden, m.ffn)],
    );
  }
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: m.hidden,
    intermediate_size: m.ffn,
    num_hidden_layers: m.layers,
    num_attention_heads: m.heads,
    num_key_value_heads: m.kvHeads,
    vocab_size: m.vocab,
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
  };
  return memoryFolder({ 'config.json': new TextEncoder().encode(JSON.stringify(config)), 'model.safetensors': concatBytes(encodeSafetensors(tensors)) });
}

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly model: SoakModel;
  /** Optimizer steps (one batch each). */
  readonly steps: number;
  readonly batch: number;
  /** Tokens per example. */
  readonly tokens: number;
  /** Bytes the backend holds (wasm memory, GPU buffers); the JS heap is added. */
  readonly deviceBytes: () => number;
  /** Steps between samples (default 50). */
  readonly sampleEvery?: number;
  /** Stop at the first sample after this many seconds once {@link SoakOptions.minSteps} have run (default: run every step). */
  readonly budgetSeconds?: number;
  /** Steps run whatever the budget, so that a slow (busy) machine checks as many as an idle one (default 100, the reference sample). */
  readonly minSteps?: number;
}

/** One memory sample. */
interface SoakSample {
  readonly step: number;
  readonly device: number;
  readonly heap: number;
  readonly total: number;
}

/** What {@link runSoak} measured. */
export interface SoakReport {
  readonly samples: readonly SoakSample[];
  /** The sample at step 100, the reference. */
  readonly reference: SoakSample;
  /** The largest total after step 100. */
  readonly peak: SoakSample;
  /** peak.total / reference.total. */
  readonly ratio: number;
  readonly seconds: number;
  readonly stepsPerSecond: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
}

// A forced GC makes heap samples comparable: without it they measure garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function sample(step: number, deviceBytes: () => number): SoakSample {
  collectGarbage();
  const device = deviceBytes();
  const heap = process.memoryUsage().heapUsed;
  return { step, device, heap, total: device + heap };
}

/** Trains the soak for `steps` steps and samples memory every `sampleEvery` steps. */
export async function runSoak(backend: Backend, options: SoakOptions): Promise<SoakReport> {
  const { model: shape, steps, batch, tokens, deviceBytes, sampleEvery = 50, budgetSeconds = Infinity, minSteps = 100 } = options;
  const lm = await CausalLM.load(backend, randomModelFolder(shape));
  const adapter = uploadAdapter(backend, initLoraAdapter(lm.weights, { r: 8, targets: ['q_proj', 'v_proj'], seed: 2 }));
  const rand = seeded(3);
  // Arithmetic sequences from random starts: learnable, so the loss falls.
  const data: Example[] = Array.from({ length: steps * batch }, () => {
    const start = Math.floor(rand() * shape.vocab);
    const ids = Array.from({ length: tokens }, (_, j) => (start + 7 * j) % shape.vocab);
    return { ids, targets: ids.map((_, j) => (j + 1 < tokens ? ids[j + 1] : -100)) };
  });
  const samples: SoakSample[] = [];
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  const started = performance.now();
  for await (const event of train(backend, lm, { adapters: [adapter], train: data, padId: 0, batchSize: batch, schedule: { lr: 1e-2 }, maxGradNorm: 1 })) {
    if (event.type !== 'step') continue;
    if (event.step === 1) firstLoss = event.loss;
    lastLoss = event.loss;
    if (event.step % sampleEvery !== 0 && event.step !== 100) continue;
    samples.push(sample(event.step, deviceBytes));
    // Leaving the loop ends the run: the trainer frees what it holds.
    if (event.step > 100 && event.step >= minSteps && performance.now() - started > budgetSeconds * 1000) break;
  }
  const seconds = (performance.now() - started) / 1000;
  lm.dispose();
  const reference = samples.find((s) => s.step === 100);
  if (!reference) throw new Error(`The soak stopped at step ${samples.at(-1)?.step ?? 0}, before step 100, its reference.`);
  const peak = samples.filter((s) => s.step >= 100).reduce((a, b) => (b.total > a.total ? b : a));
  return { samples, reference, peak, ratio: peak.total / reference.total, seconds, stepsPerSecond: samples.at(-1)!.step / seconds, firstLoss, lastLoss };
}

/** One line for the test log and docs/reliability.md. */
export function formatSoak(label: string, r: SoakReport): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(2);
  return (
    `${label}: ${r.samples.at(-1)!.step} steps in ${r.seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(1)} steps/s), loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}; ` +
    `at step 100 ${mib(r.reference.total)} MiB (device ${mib(r.reference.device)} + heap ${mib(r.reference.heap)}), ` +
    `peak ${mib(r.peak.total)} MiB at step ${r.peak.step} (device ${mib(r.peak.device)} + heap ${mib(r.peak.heap)}): ×${r.ratio.toFixed(4)}; ` +
    `MiB by step ${r.samples
      .filter((s) => s.step % 500 === 0 || s.step === 100)
      .map((s) => `${s.step}:${mib(s.total)}`)
      .join(' ')}`
  );
}

/** The soak's size from the environment (scripts/soak-tiny.mjs sets it), else the CI soak. */
export function soakSettings(): { model: SoakModel; name: string; steps: number; batch: number; tokens: number } {
  const name = process.env.LORAFUSE_SOAK_MODEL ?? 'small';
  if (!(name in SOAK_MODELS)) throw new Error(`LORAFUSE_SOAK_MODEL must be one of ${Object.keys(SOAK_MODELS).join(', ')}; got ${name}`);
  const int = (key: string, fallback: number) => Number(process.env[key] ?? fallback);
  return {
    model: SOAK_MODELS[name as keyof typeof SOAK_MODELS],
    name,
    steps: int('LORAFUSE_SOAK_STEPS', 2000),
    batch: int('LORAFUSE_SOAK_BATCH', 1),
    tokens: int('LORAFUSE_SOAK_TOKENS', 64),
  };
}
