import type { AdaptEvent, FailedPruneRatio, ModuleSparsity, PruneRatioCandidate } from '@lorafuse/core';
import type { CliIO } from '../io.js';

/** What `lorafuse adapt --json` prints. */
export interface AdaptSummary {
  /** The folder written. */
  readonly out: string;
  /** Optimizer steps taken. */
  readonly steps: number;
  /** Training loss of the last step, and the last validation loss (`null` without `--val`). */
  readonly loss: { readonly train: number | null; readonly val: number | null };
  /** Per module, after the last pruning step. */
  readonly sparsity: readonly ModuleSparsity[];
  /** With a grid of `--prune-ratio` values: each ratio's dev ROUGE, the one chosen, and the ratios whose run failed. */
  readonly grid?: AdaptGrid;
}

/** The outcome of a `--prune-ratio` grid, as the summary and `lorafuse.json` give it. */
export interface AdaptGrid {
  readonly chosen: number;
  readonly candidates: readonly PruneRatioCandidate[];
  readonly failed?: readonly FailedPruneRatio[];
}

/**
 * One stderr line per step, printed after its pruning so it can show the
 * mean sparsity; with `ratio`, a heading line whenever the grid's candidate
 * changes.
 */
export function stepReporter(io: CliIO): (event: AdaptEvent, ratio?: number) => void {
  let last: { loss: number; lr: number } | undefined;
  let heading: number | undefined;
  return (event, ratio) => {
    if (ratio !== undefined && ratio !== heading) {
      heading = ratio;
      io.err(`prune ratio ${ratio}:\n`);
    }
    if (event.type === 'step') last = event;
    else if (event.type === 'prune' && last) {
      const mean = event.tensors.reduce((s, t) => s + t.sparsity, 0) / Math.max(1, event.tensors.length);
      io.err(`step ${event.step}  epoch ${event.epoch}  loss ${last.loss.toFixed(4)}  lr ${last.lr.toExponential(2)}  sparsity ${mean.toFixed(3)}\n`);
    } else if (event.type === 'eval') io.err(`epoch ${event.epoch}  validation loss ${event.loss.toFixed(4)}\n`);
  };
}

/** One line per grid ratio whose run failed and was left out. */
export function reportFailedRatios(io: CliIO, failed: readonly FailedPruneRatio[]): void {
  for (const f of failed) io.err(`prune ratio ${f.ratio} failed and is left out: ${f.message} [${f.code}]\n`);
}
