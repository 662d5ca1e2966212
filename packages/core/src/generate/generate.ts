import { LoraFuseError } from '../errors/index.js';
import { KVCache, contextLength } from '../model/kv-cache.js';
import type { CausalLM } from '../model/llama.js';
import { beamSearch } from './beam-search.js';
import type { FinishReason, GenerateOptions, GenerateResult } from './options.js';
import { argmax, samplingParameters, sampleToken } from './sampling.js';
import { nextTokenLogits } from './step.js';

/** Checks the prompt and options, or throws; returns the number of new tokens that fit the context. */
function checkRequest(model: CausalLM, promptIds: readonly number[], options: GenerateOptions, capacity: number): number {
  const vocab = model.config.vocabSize;
  if (promptIds.length === 0) throw new LoraFuseError('INVALID_OPTION', 'The prompt is empty; generation needs at least one token to continue.');
  const bad = promptIds.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad !== undefined)
    throw new LoraFuseError('INVALID_OPTION', `Prompt token ${String(bad)} is not an id of this model's vocabulary [0, ${vocab}).`, {
      details: { id: bad, vocabSize: vocab },
    });
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new LoraFuseError('INVALID_OPTION', `maxNewTokens must be an integer ≥ 1; got ${String(options.maxNewTokens)}.`, {
      details: { maxNewTokens: options.maxNewTokens },
    });
  }
  const badStop = (options.stopTokens ?? []).find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (badStop !== undefined)
    throw new LoraFuseError('INVALID_OPTION', `Stop token ${String(badStop)} is not an id of this model's vocabulary [0, ${vocab}).`, {
      details: { id: badStop },
    });
  if (promptIds.length >= capacity) {
    throw new LoraFuseError(
      'CONTEXT_EXCEEDED',
      `A prompt of ${promptIds.length} tokens leaves no room for new tokens in the model's context of ${capacity}; shorten the prompt (for a {source} record, truncate the source).`,
      {
        details: { promptTokens: promptIds.length, capacity },
      },
    );
  }
  return Math.min(options.maxNewTokens, capacity - promptIds.length);
}

/**
 * Generates a continuation of `promptIds` with `model`, streaming each new
 * token id as soon as it is chosen; the generator's return value is the
 * {@link FinishReason}. Decoding runs on the model's backend with a
 * {@link KVCache} (the prompt once, then one token per step), freed when
 * the generator finishes or is closed early. Beam search yields its tokens
 * only once the search is over (the best hypothesis is known at the end).
 *
 * The prompt plus the new tokens stay within the model's context
 * ({@link contextLength}): `maxNewTokens` is cut to the room left, and a
 * prompt that leaves none throws `CONTEXT_EXCEEDED`. Bad options throw
 * `INVALID_OPTION`. An aborted `signal` ends generation between steps with
 * `aborted`.
 */
export async function* generateTokens(
  model: CausalLM,
  promptIds: readonly number[],
  options: GenerateOptions,
): AsyncGenerator<number, FinishReason, undefined> {
  const room = checkRequest(model, promptIds, options, contextLength(model.config));
  const decoding = options.decoding ?? { kind: 'greedy' };
  if (!['greedy', 'sample', 'beam'].includes(decoding.kind)) {
    throw new LoraFuseError('INVALID_OPTION', `decoding.kind must be greedy, sample or beam; got ${String(decoding.kind)}.`, {
      details: { kind: decoding.kind },
    });
  }
  const sampling = decoding.kind === 'sample' ? samplingParameters(decoding, model.config.vocabSize) : undefined;
  const stopTokens = new Set(options.stopTokens ?? []);
  const adapters = options.adapters ?? [];
  const cache = new KVCache(model.backend, model.config);
  try {
    if (options.signal?.aborted) return 'aborted';
    if (decoding.kind === 'beam') {
      const result = await beamSearch(model, { cache, prompt: promptIds, maxNewTokens: room, stopTokens, adapters, signal: options.signal }, decoding);
      yield* result.tokens;
      return result.finishReason;
    }
    let input: readonly number[] = promptIds;
    for (let step = 0; step < room; step++) {
      const [logits] = await nextTokenLogits(model, cache, [input], adapters);
      const token = sampling ? sampleToken(logits, sampling, step) : argmax(logits);
      yield token;
      if (stopTokens.has(token)) return 'stop';
      if (options.signal?.aborted) return 'aborted';
      input = [token];
    }
    return 'length';
  } finally {
    cache.dispose();
  }
}

/** Runs {@link generateTokens} to the end and collects its tokens and finish reason. */
export async function generate(model: CausalLM, promptIds: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
  const tokens: number[] = [];
  const iterator = generateTokens(model, promptIds, options);
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { tokens, finishReason: next.value };
    tokens.push(next.value);
  }
}
