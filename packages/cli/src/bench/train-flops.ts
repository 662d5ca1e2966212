import type { ModelConfig } from '@lorafuse/core';

/** The seven projections of a Llama layer LoRA can target, by their short names. */
export const LORA_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/** Floating-point operations of one LoRA training step, split by where they are spent. */
export interface TrainStepFlops {
  /** Frozen projections and the output head: 2·W·N forward plus 2·W·N for the activation gradient. */
  readonly frozen: number;
  /** The LoRA products: 2·r·(in + out)·N forward, twice that backward (gradients of both factors and of the input). */
  readonly lora: number;
  /** Attention scores and mixing over the full S×S square: 4·B·H·S²·D forward, 8·B·H·S²·D backward. */
  readonly attention: number;
  /** The sum of the three. */
  readonly total: number;
}

/** `[in, out]` of each projection of a layer. */
function projectionShapes(c: ModelConfig): Record<(typeof LORA_PROJECTIONS)[number], readonly [number, number]> {
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const h = c.hiddenSize;
  const f = c.intermediateSize;
  return { q_proj: [h, q], k_proj: [h, kv], v_proj: [h, kv], o_proj: [q, h], gate_proj: [h, f], up_proj: [h, f], down_proj: [f, h] };
}

/**
 * The FLOP count of one training step (forward, backward, AdamW) of LoRA
 * rank `rank` on `targets` of every layer, for `batch` sequences of `seq`
 * tokens (N = batch·seq), as `lorafuse bench train` reports GFLOP/s from it.
 * Counted: every matrix product, at 2 FLOPs per multiply-add. A frozen
 * weight W (the projections and the output head, W = in·out) costs 2·W·N
 * forward and 2·W·N backward for the gradient of its input (no weight
 * gradient: it is frozen). A LoRA module costs 2·r·(in + out)·N forward and
 * 4·r·(in + out)·N backward (dB, the gradient through B, dA, and the
 * gradient of the input through A). Attention costs Q·Kᵀ and P·V, each
 * 2·B·H·S²·D, forward, and four products of that size backward, counted
 * over the whole S×S square as a dense implementation computes it (the
 * causal mask would halve the useful work). Not counted: embeddings,
 * norms, RoPE, softmax, SwiGLU, the loss and AdamW (all linear in the size
 * of their tensors, under 1 % of the total for the bench configs).
 */
export function trainStepFlops(config: ModelConfig, batch: number, seq: number, targets: readonly string[], rank: number): TrainStepFlops {
  const n = batch * seq;
  const shapes = Object.entries(projectionShapes(config));
  const layerWeights = shapes.reduce((s, [, [i, o]]) => s + i * o, 0);
  const loraWidth = shapes.filter(([name]) => targets.includes(name)).reduce((s, [, [i, o]]) => s + i + o, 0);
  const head = config.hiddenSize * config.vocabSize;
  const frozen = 4 * n * (config.numHiddenLayers * layerWeights + head);
  const lora = 6 * rank * n * config.numHiddenLayers * loraWidth;
  const attention = 12 * batch * config.numAttentionHeads * seq * seq * config.headDim * config.numHiddenLayers;
  return { frozen, lora, attention, total: frozen + lora + attention };
}

/** M×K×N of the run's representative matrix product: the FFN's up projection over the step's tokens. */
export function representativeMatmul(config: ModelConfig, batch: number, seq: number): readonly [number, number, number] {
  return [batch * seq, config.hiddenSize, config.intermediateSize];
}
