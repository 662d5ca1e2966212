import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { philoxNormal, rngStreamId } from '../reference/philox.js';

/** Options of {@link minimizeOnePlusOne}. */
export interface OnePlusOneOptions {
  /** Starting point (its length is the dimension). */
  readonly start: readonly number[];
  /** Evaluations of the objective in all, the start included (≥ 1). */
  readonly budget: number;
  /** Each coordinate is clipped into `[lower, upper]`. */
  readonly lower: number;
  readonly upper: number;
  /** Initial mutation step (standard deviation); default a sixth of the box width. */
  readonly step?: number;
  /** Seed of the Philox normal stream of the mutations (default 0). */
  readonly seed?: number;
  /** Checked before each evaluation: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each evaluation with the point tried, its value and the best value so far. */
  readonly onEvaluation?: (evaluation: { readonly index: number; readonly point: readonly number[]; readonly value: number; readonly best: number }) => void;
}

/** The best point a search found and its objective value. */
export interface SearchResult {
  readonly point: number[];
  readonly value: number;
  /** Objective evaluations done. */
  readonly evaluations: number;
}

/** Step-size factor after a success; the failure factor `SUCCESS^(−1/4)` keeps one success in five at equilibrium (Rechenberg's rule). */
const SUCCESS = 1.5;
const STREAM = rngStreamId('search/one-plus-one');

/**
 * Minimises `objective` over a box with a (1+1) evolution strategy and the
 * one-fifth success rule: each step adds seeded Gaussian noise of the
 * current step size to the best point, clips it into the box, and keeps it
 * when it is no worse; the step grows after a success and shrinks after a
 * failure. Derivative-free and deterministic for a seed, it suits small
 * budgets over a handful of weights (LoraHub's setting). A NaN value counts
 * as worse than any number. Throws `INVALID_OPTION` for an empty start, a
 * budget below 1 or an empty box.
 */
export async function minimizeOnePlusOne(objective: (point: readonly number[]) => number | Promise<number>, options: OnePlusOneOptions): Promise<SearchResult> {
  const { start, budget, lower, upper, seed = 0, signal } = options;
  if (start.length === 0) throw new LoraFuseError('INVALID_OPTION', 'The search needs at least one coordinate.');
  if (!Number.isInteger(budget) || budget < 1) throw new LoraFuseError('INVALID_OPTION', `The search budget must be a positive integer; got ${budget}.`);
  if (!(lower < upper)) throw new LoraFuseError('INVALID_OPTION', `The search box needs lower < upper; got [${lower}, ${upper}].`);
  let step = options.step ?? (upper - lower) / 6;
  if (!(step > 0)) throw new LoraFuseError('INVALID_OPTION', `The search step must be > 0; got ${step}.`);
  const clip = (x: number) => Math.min(upper, Math.max(lower, x));
  const evaluate = async (point: number[]) => {
    throwIfAborted(signal);
    const raw = await objective(point);
    return Number.isNaN(raw) ? Infinity : raw;
  };
  let best = start.map(clip);
  let value = await evaluate(best);
  options.onEvaluation?.({ index: 0, point: best, value, best: value });
  for (let i = 1; i < budget; i++) {
    const candidate = best.map((x, d) => clip(x + step * philoxNormal(seed, STREAM, i * start.length + d)));
    const v = await evaluate(candidate);
    if (v <= value) {
      best = candidate;
      value = v;
      step *= SUCCESS;
    } else {
      step *= SUCCESS ** -0.25;
    }
    options.onEvaluation?.({ index: i, point: candidate, value: v, best: value });
  }
  return { point: best, value, evaluations: budget };
}
