import type { DeviceAdapter } from '../model/device-adapter.js';

/** Greedy decoding: the most likely token at every step (the lowest id among equal logits). */
export interface GreedyDecoding {
  readonly kind: 'greedy';
}

/**
 * Sampling: the logits are divided by `temperature`, filtered by `topK` and
 * then `topP` (Hugging Face's order and semantics, see
 * {@link filterLogits}), and a token is drawn from the softmax of what is
 * left with the Philox stream of `seed` (the same tokens for the same seed
 * on every backend, up to the backend's logits).
 */
export interface SampleDecoding {
  readonly kind: 'sample';
  /** Divides the logits; finite and > 0. Default 1. */
  readonly temperature?: number;
  /** Keep the `topK` most likely tokens (ties at the threshold kept); 0 = no limit (default; Hugging Face defaults to 50). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches `topP`, in (0, 1]; default 1 (no limit). */
  readonly topP?: number;
  /** Seed of the Philox stream, an integer in [0, 2³²). Default 0. */
  readonly seed?: number;
}

/**
 * Beam search as Hugging Face transformers' `generate(num_beams=…,
 * do_sample=False)`: `numBeams` running hypotheses scored by their summed
 * log-probabilities; a hypothesis ending in a stop token (or reaching the
 * length limit) is finished with the score `sum / newTokens^lengthPenalty`,
 * and the best finished one is returned.
 */
export interface BeamDecoding {
  readonly kind: 'beam';
  /** Hypotheses kept at each step, an integer ≥ 1. */
  readonly numBeams: number;
  /** Exponent of the length normalisation of finished hypotheses; default 1 (as transformers). */
  readonly lengthPenalty?: number;
  /**
   * When to stop, with transformers' meanings: `false` (its default) stops
   * once the best running hypothesis, normalised at the current length,
   * cannot beat the worst of `numBeams` finished ones; `true` stops as soon
   * as `numBeams` hypotheses are finished; `'never'` stops only when no
   * better hypothesis is possible (at the maximum length for a positive
   * length penalty).
   */
  readonly earlyStopping?: boolean | 'never';
}

/** How the next token is chosen. */
export type Decoding = GreedyDecoding | SampleDecoding | BeamDecoding;

/** Options of {@link generate} and {@link generateTokens}. */
export interface GenerateOptions {
  /** Most new tokens, an integer ≥ 1; fewer when the model's context ends first. */
  readonly maxNewTokens: number;
  /** LoRA adapters applied together (see {@link ForwardOptions.adapters}). */
  readonly adapters?: readonly DeviceAdapter[];
  /** Token ids that end generation (e.g. the tokenizer's eos); the stop token is part of the result. */
  readonly stopTokens?: readonly number[];
  /** Default greedy. */
  readonly decoding?: Decoding;
  /** Stops generation between steps; the result then ends with finish reason `aborted`. */
  readonly signal?: AbortSignal;
}

/** Why generation ended: a stop token, the token limit (or the end of the context), or the abort signal. */
export type FinishReason = 'stop' | 'length' | 'aborted';

/** What {@link generate} returns. */
export interface GenerateResult {
  /** The new token ids (without the prompt), ending with the stop token when `finishReason` is `stop`. */
  readonly tokens: number[];
  readonly finishReason: FinishReason;
}
