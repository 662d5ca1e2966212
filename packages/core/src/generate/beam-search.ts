import { LoraFuseError } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { KVCache } from '../model/kv-cache.js';
import type { CausalLM } from '../model/llama.js';
import type { BeamDecoding, FinishReason } from './options.js';
import { nextTokenLogits } from './step.js';

/** transformers' stand-in for −∞ in beam scores. */
const NEG = -1e9;

interface Hypothesis {
  readonly tokens: readonly number[];
  readonly score: number;
  /** For finished slots: holds a real finished hypothesis (not a placeholder). */
  readonly finished: boolean;
}

/** What a beam search run needs besides the model. */
export interface BeamSearchRun {
  readonly cache: KVCache;
  readonly prompt: readonly number[];
  readonly maxNewTokens: number;
  readonly stopTokens: ReadonlySet<number>;
  readonly adapters: readonly DeviceAdapter[];
  readonly signal?: AbortSignal;
}

/** Checks a {@link BeamDecoding}, or throws `INVALID_OPTION`; returns it with its defaults. */
function beamParameters(d: BeamDecoding): Required<Omit<BeamDecoding, 'kind'>> {
  const { numBeams, lengthPenalty = 1, earlyStopping = false } = d;
  if (!Number.isInteger(numBeams) || numBeams < 1)
    throw new LoraFuseError('INVALID_OPTION', `numBeams must be an integer ≥ 1; got ${String(numBeams)}.`, { details: { numBeams } });
  if (!Number.isFinite(lengthPenalty))
    throw new LoraFuseError('INVALID_OPTION', `lengthPenalty must be finite; got ${String(lengthPenalty)}.`, { details: { lengthPenalty } });
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== 'never') {
    throw new LoraFuseError('INVALID_OPTION', `earlyStopping must be true, false or 'never'; got ${String(earlyStopping)}.`, { details: { earlyStopping } });
  }
  return { numBeams, lengthPenalty, earlyStopping };
}

/** Indices of the `k` largest `values`, largest first; the lower index first among equal values (as `torch.topk` on CPU in practice). */
function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  const lse = max + Math.log(total);
  return Float64Array.from(logits, (v) => v - lse);
}

/**
 * Beam search for one prompt, step for step as transformers 5's
 * `_beam_search` (vectorised beam search): it keeps `2·numBeams` candidates
 * (`(1 + stop tokens)·numBeams` when more), finishes the candidates among the
 * first `numBeams` that hit a stop token or the length limit, continues the
 * best `numBeams` others, and stops by its early-stopping heuristic. The
 * cache holds one row per beam and follows the surviving beams.
 */
export async function beamSearch(model: CausalLM, run: BeamSearchRun, decoding: BeamDecoding): Promise<{ tokens: number[]; finishReason: FinishReason }> {
  const { numBeams, lengthPenalty, earlyStopping } = beamParameters(decoding);
  const { cache, prompt, maxNewTokens, stopTokens, adapters, signal } = run;
  const vocab = model.config.vocabSize;
  const keep = Math.max(2, 1 + stopTokens.size) * numBeams;
  const promptLength = prompt.length;
  const maxLength = promptLength + maxNewTokens;
  let running: Hypothesis[] = Array.from({ length: numBeams }, (_, b) => ({ tokens: [], score: b === 0 ? 0 : NEG, finished: false }));
  let finished: Hypothesis[] = Array.from({ length: numBeams }, () => ({ tokens: [], score: NEG, finished: false }));
  let improvable = true;
  let curLength = promptLength;
  // The prompt runs once; its cache row is copied to every beam (transformers runs numBeams identical rows).
  let logits = await nextTokenLogits(model, cache, [prompt], adapters);
  cache.select(new Array<number>(numBeams).fill(0));
  logits = new Array<Float32Array>(numBeams).fill(logits[0]);
  for (;;) {
    const accumulated = new Float64Array(numBeams * vocab);
    running.forEach((h, b) => {
      logSoftmax(logits[b]).forEach((lp, v) => {
        accumulated[b * vocab + v] = lp + h.score;
      });
    });
    const candidates = topK(accumulated, keep).map((index) => {
      const beam = Math.floor(index / vocab);
      const token = index % vocab;
      return { beam, tokens: [...running[beam].tokens, token], score: accumulated[index], hits: stopTokens.has(token) || curLength + 1 >= maxLength };
    });
    const next = topK(
      candidates.map((c) => c.score + (c.hits ? NEG : 0)),
      numBeams,
    ).map((j) => candidates[j]);
    const normaliser = (curLength + 1 - promptLength) ** lengthPenalty;
    const full = finished.every((h) => h.finished) && earlyStopping === true;
    const fresh = candidates.map((c, j): Hypothesis => {
      const accepted = c.hits && j < numBeams;
      const score = c.score / normaliser + (full ? NEG : 0) + (improvable ? 0 : NEG) + (accepted ? 0 : NEG);
      return { tokens: c.tokens, score, finished: accepted };
    });
    const merged = [...finished, ...fresh];
    finished = topK(
      merged.map((h) => h.score),
      numBeams,
    ).map((j) => merged[j]);
    running = next.map((c) => ({ tokens: c.tokens, score: c.score + (c.hits ? NEG : 0), finished: false }));
    curLength++;
    const bestLength = earlyStopping === 'never' && lengthPenalty > 0 ? maxLength - promptLength : curLength - promptLength;
    const bestPossible = running[0].score / bestLength ** lengthPenalty;
    const lowest = Math.min(...finished.map((h) => h.score));
    improvable &&= finished.some((h) => bestPossible > (h.finished ? lowest : NEG));
    const openBeam = !(finished.every((h) => h.finished) && earlyStopping === true);
    const continuable = !candidates.every((c) => c.hits);
    if (!(improvable && openBeam && continuable)) break;
    if (signal?.aborted) return { tokens: running[0].tokens.slice(), finishReason: 'aborted' };
    const rows = next.map((c) => c.beam);
    if (rows.some((r, i) => r !== i)) cache.select(rows);
    logits = await nextTokenLogits(
      model,
      cache,
      running.map((h) => [h.tokens[h.tokens.length - 1]]),
      adapters,
    );
  }
  const best = finished[0];
  const last = best.tokens[best.tokens.length - 1];
  return { tokens: best.tokens.slice(), finishReason: last !== undefined && stopTokens.has(last) ? 'stop' : 'length' };
}
