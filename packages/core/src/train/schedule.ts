import { LoraFuseError } from '../errors/index.js';

/** A learning-rate schedule, as the Hugging Face `get_*_schedule_with_warmup` functions define them. */
export interface LrSchedule {
  /** `constant` (after warm-up), `linear` decay to 0, or `cosine` (half a period) to 0. Default `constant`. */
  readonly kind?: 'constant' | 'linear' | 'cosine';
  /** Peak learning rate. */
  readonly lr: number;
  /** Optimizer steps of linear warm-up from 0 (default 0). */
  readonly warmupSteps?: number;
  /** Optimizer steps in the whole run (needed by `linear` and `cosine`). */
  readonly totalSteps?: number;
  /** Multiplies the rate by `epochDecay^epoch` (per-epoch multiplicative decay; default 1). */
  readonly epochDecay?: number;
}

/**
 * The learning rate of optimizer step `step` (0-based, counted over the whole
 * run) in epoch `epoch` (0-based). With `w` warm-up steps and `T` total:
 * `step < w` → `lr·step/w`; then constant `lr`, linear
 * `lr·max(0, (T−step)/max(1, T−w))`, or cosine
 * `lr·max(0, ½(1 + cos(π·(step−w)/max(1, T−w))))`; times `epochDecay^epoch`.
 * Throws `INVALID_OPTION` when a decaying schedule has no `totalSteps`.
 */
export function learningRate(schedule: LrSchedule, step: number, epoch = 0): number {
  const { kind = 'constant', lr, warmupSteps = 0, totalSteps, epochDecay = 1 } = schedule;
  const decay = epochDecay ** epoch;
  if (step < warmupSteps) return ((lr * step) / Math.max(1, warmupSteps)) * decay;
  if (kind === 'constant') return lr * decay;
  if (totalSteps === undefined) throw new LoraFuseError('INVALID_OPTION', `A ${kind} schedule needs totalSteps.`);
  const span = Math.max(1, totalSteps - warmupSteps);
  const factor = kind === 'linear' ? (totalSteps - step) / span : 0.5 * (1 + Math.cos((Math.PI * (step - warmupSteps)) / span));
  return lr * Math.max(0, factor) * decay;
}
