import type { LoraAdapter } from '../adapter/index.js';
import type { Backend } from '../backend/backend.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError } from '../errors/index.js';
import { evaluateLoss } from '../eval/loss.js';
import type { MergerPlugin } from '../merge/types.js';
import { freeAdapter, uploadAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import { minimizeOnePlusOne } from './one-plus-one.js';

/** Options of {@link searchMergeWeights}; the defaults are LoraHub's. */
export interface MergeWeightSearchOptions {
  /** The merger the weights are for (LoraHub's is `lorahub` from `@lorafuse/plugins`); it must read `options.weights`. */
  readonly merger: MergerPlugin;
  /** The tokenizer's pad id. */
  readonly padId: number;
  /** Objective evaluations in all (default 40, LoraHub's `max_inference_step`). */
  readonly budget?: number;
  /** Weight of the penalty `l1 · mean |w_i|` added to the loss (default 0.05). */
  readonly l1?: number;
  /** Each weight stays in `[−bound, bound]` (default 1.5). */
  readonly bound?: number;
  /** Starting weights (default all 0, LoraHub's). */
  readonly start?: readonly number[];
  /** Examples per forward pass of the loss (default 8). */
  readonly batchSize?: number;
  /** Seed of the search (default 0). */
  readonly seed?: number;
  /** Checked before each evaluation: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each evaluation. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number; readonly best: number }) => void;
}

/** What {@link searchMergeWeights} found. */
export interface MergeWeightSearchResult {
  /** One weight per adapter. */
  readonly weights: number[];
  /** The objective at `weights`: mean loss per target token plus the L1 penalty. */
  readonly objective: number;
  /** The mean loss per target token at `weights`, without the penalty. */
  readonly loss: number;
  /** Objective evaluations done. */
  readonly evaluations: number;
}

/**
 * LoraHub's few-shot composition (Huang et al., 2023, "LoraHub: Efficient
 * Cross-Task Generalization via Dynamic LoRA Composition"): finds one weight
 * per adapter that minimises the merged adapter's mean loss on `examples`
 * plus `l1 · mean |w|`, without gradients. Each candidate is merged on the
 * host by `merger`, uploaded, scored with {@link evaluateLoss} and freed.
 * LoraHub uses nevergrad's NGOpt; this uses a seeded (1+1) evolution
 * strategy ({@link minimizeOnePlusOne}) with the same objective, box, start
 * and budget, so it is reproducible without Python. Throws
 * `INVALID_OPTION` for fewer than two adapters, no examples or a start of
 * the wrong length, and what the merger and {@link evaluateLoss} throw.
 */
export async function searchMergeWeights(
  backend: Backend,
  model: CausalLM,
  adapters: readonly LoraAdapter[],
  examples: readonly Example[],
  options: MergeWeightSearchOptions,
): Promise<MergeWeightSearchResult> {
  const { merger, padId, budget = 40, l1 = 0.05, bound = 1.5, batchSize, seed, signal } = options;
  if (adapters.length < 2) throw new LoraFuseError('INVALID_OPTION', `A weight search needs at least two adapters; got ${adapters.length}.`);
  if (examples.length === 0) throw new LoraFuseError('INVALID_OPTION', 'A weight search needs examples to score the merges on.');
  const start = options.start ?? adapters.map(() => 0);
  if (start.length !== adapters.length) throw new LoraFuseError('INVALID_OPTION', `start has ${start.length} weights for ${adapters.length} adapters.`);
  if (!(l1 >= 0) || !(bound > 0)) throw new LoraFuseError('INVALID_OPTION', `l1 must be ≥ 0 and bound > 0; got l1 ${l1}, bound ${bound}.`);

  const penalty = (w: readonly number[]) => (l1 * w.reduce((s, x) => s + Math.abs(x), 0)) / w.length;
  const lossAt = async (weights: readonly number[]) => {
    const device = uploadAdapter(backend, await merger.merge(adapters, { weights }, { signal }));
    try {
      return (await evaluateLoss(backend, model, examples, { adapters: [device], padId, batchSize, signal })).loss;
    } finally {
      freeAdapter(backend, device);
    }
  };
  const found = await minimizeOnePlusOne(async (w) => (await lossAt(w)) + penalty(w), {
    start,
    budget,
    lower: -bound,
    upper: bound,
    seed,
    signal,
    onEvaluation: ({ index, best }) => options.onProgress?.({ done: index + 1, total: budget, best }),
  });
  return { weights: found.point, objective: found.value, loss: found.value - penalty(found.point), evaluations: found.evaluations };
}
