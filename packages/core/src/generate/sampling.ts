import { LoraFuseError } from '../errors/index.js';
import { philoxUniform, rngStreamId } from '../reference/philox.js';
import type { SampleDecoding } from './options.js';

/** The Philox stream sampling draws from (key word 1), under the user's seed. */
export const SAMPLING_STREAM = rngStreamId('generate.sample');

/** Checks a {@link SampleDecoding}'s numbers, or throws `INVALID_OPTION`; returns them with their defaults. */
export function samplingParameters(d: SampleDecoding, vocabSize: number): Required<Omit<SampleDecoding, 'kind'>> {
  const { temperature = 1, topK = 0, topP = 1, seed = 0 } = d;
  const bad = (what: string, value: unknown) =>
    new LoraFuseError('INVALID_OPTION', `Sampling ${what}; got ${String(value)}.`, { details: { [what.split(' ')[0]]: value } });
  if (!(Number.isFinite(temperature) && temperature > 0)) throw bad('temperature must be a finite number > 0 (use greedy decoding for 0)', temperature);
  if (!Number.isInteger(topK) || topK < 0) throw bad(`topK must be an integer ≥ 0 (0 = all ${vocabSize} tokens)`, topK);
  if (!(topP > 0 && topP <= 1)) throw bad('topP must be in (0, 1]', topP);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw bad('seed must be an integer in [0, 2^32)', seed);
  return { temperature, topK, topP, seed };
}

/** Index of the largest value; the lowest index among equal ones (NaN never wins). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best] || Number.isNaN(values[best])) best = i;
  return best;
}

/**
 * The sampling distribution of one row of logits, in float64, as Hugging
 * Face's warpers compute it: logits divided by `temperature`; with `topK`,
 * tokens whose scaled logit is below the `topK`-th largest are removed
 * (ties at the threshold stay); with `topP`, the remaining tokens sorted by
 * probability (ascending; among equal ones the higher id first) are removed
 * while their cumulative probability is ≤ `1 − topP`, always keeping the
 * most likely one. Returns the softmax of what is left (0 for removed tokens).
 */
export function filterLogits(logits: ArrayLike<number>, options: Pick<SampleDecoding, 'temperature' | 'topK' | 'topP'>): Float64Array {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const n = logits.length;
  const scaled = Float64Array.from({ length: n }, (_, i) => logits[i] / temperature);
  if (topK > 0 && topK < n) {
    const threshold = Float64Array.from(scaled).sort().reverse()[topK - 1];
    for (let i = 0; i < n; i++) if (scaled[i] < threshold) scaled[i] = -Infinity;
  }
  let probs = softmax(scaled);
  if (topP < 1) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[a] - probs[b] || b - a);
    let cumulative = 0;
    for (let j = 0; j < n - 1; j++) {
      cumulative += probs[order[j]];
      if (cumulative > 1 - topP) break;
      scaled[order[j]] = -Infinity;
    }
    probs = softmax(scaled);
  }
  return probs;
}

/** Softmax in float64 (−∞ entries get 0). */
function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  const out = x.map((v) => Math.exp(v - max));
  const total = out.reduce((s, v) => s + v, 0);
  return out.map((v) => v / total);
}

/**
 * Draws a token from `probs` with the uniform number `u ∈ [0, 1)`: the first
 * id whose cumulative probability exceeds `u` (the last possible id when
 * rounding leaves the total just under `u`).
 */
export function drawToken(probs: ArrayLike<number>, u: number): number {
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last = i;
    if (cumulative > u) return i;
  }
  return last;
}

/** The token of sampling step `step` (0 for the first new token) under `parameters`. */
export function sampleToken(logits: ArrayLike<number>, parameters: Required<Omit<SampleDecoding, 'kind'>>, step: number): number {
  return drawToken(filterLogits(logits, parameters), philoxUniform(parameters.seed, SAMPLING_STREAM, step));
}
