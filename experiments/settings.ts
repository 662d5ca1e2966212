import { FULL_DEMO_SETTINGS, type DemoSettings } from '@lorafuse/demo';

/** A low-resource target: pages of `language` in `domains`, split into train, dev and test by page. */
export interface TargetSpec {
  /** Name used on the command line and in result paths, e.g. `en-man7`. */
  readonly name: string;
  readonly language: 'en' | 'ja';
  readonly domains: readonly string[];
  /** Pages per split. */
  readonly sizes: { readonly train: number; readonly dev: number; readonly test: number };
}

/**
 * Everything that decides what the experiment computes, besides the data and
 * the seeds. It extends the demo's settings because the demo's training
 * stages (`baseModel`, `trainedLora`) take them; `corpus` there only records
 * the target's train and test sizes (the harness reads its data from `--data`).
 */
export interface ExperimentSettings extends DemoSettings {
  /** Related domains, one LoRA each (pairs of both languages). */
  readonly relatedDomains: readonly string[];
  /** The targets, in the order their pages are assigned to splits (the one with the fewest spare pages first). */
  readonly targets: readonly TargetSpec[];
  /** Pretraining texts kept (all when larger than the corpus). */
  readonly maxPretrainTexts: number;
  /** Pairs kept per related domain (all when larger than the domain). */
  readonly maxRelatedPairs: number;
  /** Pruning ratios tried by adaptive merge + pruning; the one with the best dev ROUGE-L is kept. */
  readonly ratioGrid: readonly number[];
  /** Objective evaluations of the LoraHub weight search. */
  readonly lorahubBudget: number;
  /** Density of TIES (share of each factor's entries kept before sign election). */
  readonly tiesDensity: number;
  /** Resamples of the paired bootstrap. */
  readonly bootstrapResamples: number;
}

const TARGETS: readonly TargetSpec[] = Object.freeze([
  // Japanese man5 ∪ man7 has exactly 188 pages, so it is split first and English man7 follows its page assignment.
  { name: 'ja-man5-7', language: 'ja', domains: ['man5', 'man7'], sizes: { train: 50, dev: 38, test: 100 } },
  { name: 'en-man7', language: 'en', domains: ['man7'], sizes: { train: 50, dev: 50, test: 100 } },
]);

/**
 * The reported scale, sized so that the whole run (pretraining, four related
 * LoRAs, two targets × three seeds × seven methods) finishes in under an
 * hour on two shared CPU cores with the wasm backend: the demo's 109k-parameter
 * byte-level Llama, 128-token contexts.
 */
export const FULL_EXPERIMENT_SETTINGS: ExperimentSettings = Object.freeze({
  ...FULL_DEMO_SETTINGS,
  name: 'full',
  corpus: Object.freeze({ pretrain: 0, related: 0, targetTrain: 50, targetTest: 100 }),
  maxLength: 128,
  pretrain: Object.freeze({ epochs: 6, batchSize: 16, lr: 3e-3 }),
  related: Object.freeze({ epochs: 3, batchSize: 16, lr: 3e-3 }),
  target: Object.freeze({ epochs: 10, batchSize: 8, lr: 3e-3 }),
  adapt: Object.freeze({ epochs: 10, batchSize: 8, accumulation: 1, lr: 1e-3, epochDecay: 0.85, ratio: 0.5 }),
  maxNewTokens: 64,
  relatedDomains: Object.freeze(['man1', 'man2', 'man3', 'man8']),
  targets: TARGETS,
  maxPretrainTexts: 100_000,
  maxRelatedPairs: 100_000,
  ratioGrid: Object.freeze([0.25, 0.5, 0.75]),
  lorahubBudget: 40,
  tiesDensity: 0.5,
  bootstrapResamples: 10_000,
});

/** A smoke run (tests): the same pipeline on a few pages and steps, in seconds. */
export const QUICK_EXPERIMENT_SETTINGS: ExperimentSettings = Object.freeze({
  ...FULL_EXPERIMENT_SETTINGS,
  name: 'quick',
  corpus: Object.freeze({ pretrain: 0, related: 0, targetTrain: 4, targetTest: 4 }),
  maxLength: 64,
  pretrain: Object.freeze({ epochs: 1, batchSize: 8, lr: 3e-3 }),
  related: Object.freeze({ epochs: 1, batchSize: 8, lr: 3e-3 }),
  target: Object.freeze({ epochs: 1, batchSize: 4, lr: 3e-3 }),
  adapt: Object.freeze({ epochs: 1, batchSize: 4, accumulation: 1, lr: 1e-3, epochDecay: 0.85, ratio: 0.5 }),
  maxNewTokens: 4,
  targets: Object.freeze(TARGETS.map((t) => ({ ...t, sizes: { train: 4, dev: 3, test: 4 } }))),
  maxPretrainTexts: 16,
  maxRelatedPairs: 8,
  ratioGrid: Object.freeze([0.25, 0.5]),
  lorahubBudget: 3,
  bootstrapResamples: 200,
});
