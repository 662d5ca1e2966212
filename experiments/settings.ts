import { LoraFuseError } from '@lorafuse/core';
import { FULL_DEMO_SETTINGS, type DemoSettings } from '@lorafuse/demo';
import type { ExperimentConfig, TargetSpec } from './config.js';

/**
 * The training scale of a run: the model, the stages' epochs and learning
 * rates, the baselines' parameters. It extends the demo's settings because
 * the demo's training stages (`baseModel`, `trainedLora`) take them.
 */
export interface ExperimentScale extends DemoSettings {
  /** Objective evaluations of the LoraHub weight search. */
  readonly lorahubBudget: number;
  /** Density of TIES (share of each factor's entries kept before sign election). */
  readonly tiesDensity: number;
  /** Resamples of the paired bootstrap. */
  readonly bootstrapResamples: number;
}

/** Everything that decides what the experiment computes, besides the data and the seeds: the scale and the config's corpus choices. */
export interface ExperimentSettings extends ExperimentScale {
  /** Related domains, one LoRA each (pairs of every language). */
  readonly relatedDomains: readonly string[];
  /** The targets, in the order their pages are assigned to splits. */
  readonly targets: readonly TargetSpec[];
  /** Pretraining texts kept (all when larger than the corpus). */
  readonly maxPretrainTexts: number;
  /** Domains the pretraining texts come from; null: every domain that is not a target's. */
  readonly pretrainDomains: readonly string[] | null;
  /** Pairs kept per related domain (all when larger than the domain). */
  readonly maxRelatedPairs: number;
  /** Pruning ratios tried by adaptive merge + pruning; the one with the best dev ROUGE-L is kept. */
  readonly ratioGrid: readonly number[];
}

/**
 * The reported scale, sized so that the man-pages run (pretraining, four
 * related LoRAs, two targets × three seeds × seven methods) finishes in
 * about an hour on two shared CPU cores with the wasm backend: the demo's
 * 109k-parameter byte-level Llama, 128-token contexts.
 */
export const FULL_SCALE: ExperimentScale = Object.freeze({
  ...FULL_DEMO_SETTINGS,
  name: 'full',
  // The demo's corpus sizes; unused here (the config decides the data).
  corpus: Object.freeze({ pretrain: 0, related: 0, targetTrain: 0, targetTest: 0 }),
  maxLength: 128,
  pretrain: Object.freeze({ epochs: 6, batchSize: 16, lr: 3e-3 }),
  related: Object.freeze({ epochs: 3, batchSize: 16, lr: 3e-3 }),
  target: Object.freeze({ epochs: 10, batchSize: 8, lr: 3e-3 }),
  adapt: Object.freeze({ epochs: 10, batchSize: 8, accumulation: 1, lr: 1e-3, epochDecay: 0.85, ratio: 0.5 }),
  maxNewTokens: 64,
  lorahubBudget: 40,
  tiesDensity: 0.5,
  bootstrapResamples: 10_000,
});

/**
 * The `--quick` scale: enough steps that every method moves away from the
 * base model (so the committed quick table shows a change in arithmetic),
 * about a minute on two cores with the man-pages config's quick sizes.
 */
export const QUICK_SCALE: ExperimentScale = Object.freeze({
  ...FULL_SCALE,
  name: 'quick',
  maxLength: 64,
  pretrain: Object.freeze({ epochs: 3, batchSize: 16, lr: 3e-3 }),
  related: Object.freeze({ epochs: 2, batchSize: 16, lr: 3e-3 }),
  target: Object.freeze({ epochs: 6, batchSize: 8, lr: 3e-3 }),
  adapt: Object.freeze({ epochs: 6, batchSize: 8, accumulation: 1, lr: 1e-3, epochDecay: 0.85, ratio: 0.5 }),
  maxNewTokens: 24,
  lorahubBudget: 5,
  bootstrapResamples: 1000,
});

/** The settings of a run of `config` at the full or the quick scale; throws `INVALID_OPTION` for `--quick` on a config without `quick`. */
export function experimentSettings(config: ExperimentConfig, quick: boolean): ExperimentSettings {
  const corpus = { relatedDomains: config.related.domains, pretrainDomains: config.pretrain.domains };
  if (!quick) {
    return Object.freeze({
      ...FULL_SCALE,
      ...corpus,
      targets: config.targets,
      maxPretrainTexts: config.pretrain.maxTexts,
      maxRelatedPairs: config.related.maxPairs,
      ratioGrid: config.ratioGrid,
    });
  }
  const q = config.quick;
  if (!q)
    throw new LoraFuseError('INVALID_OPTION', `The config ${config.name} has no "quick" section; add one to run it with --quick.`, {
      details: { field: 'quick' },
    });
  return Object.freeze({
    ...QUICK_SCALE,
    ...corpus,
    targets: config.targets.map((t) => ({ ...t, sizes: q.sizes })),
    maxPretrainTexts: q.maxPretrainTexts,
    maxRelatedPairs: q.maxRelatedPairs,
    ratioGrid: q.ratioGrid,
  });
}
