import {
  evaluateLoss,
  generate,
  IGNORE_TARGET,
  rougeCorpus,
  throwIfAborted,
  type Backend,
  type CausalLM,
  type DeviceAdapter,
  type Example,
  type Tokenizer,
} from '@lorafuse/core';
import type { DemoPair } from './domains.js';

/** Scores of one method on the target's test pairs. */
export interface TestScores {
  /** Mean negative log-likelihood per summary token (nats), eos included. */
  readonly loss: number;
  /** ROUGE-L F1 over all test pairs: the mean of the English (word) and Japanese (character) pairs' scores, weighted by their counts. */
  readonly rougeL: number;
  /** ROUGE-L F1 of the English pairs (lowercase words). */
  readonly rougeLEn: number;
  /** ROUGE-L F1 of the Japanese pairs (characters). */
  readonly rougeLJa: number;
  /** The generated summaries, in test order. */
  readonly predictions: readonly string[];
}

/** The prompt part of an encoded pair: every id up to the first one with a target. */
export function promptIds(example: Example): number[] {
  const first = example.targets.findIndex((t) => t !== IGNORE_TARGET);
  return example.ids.slice(0, first + 1);
}

/**
 * Loss of the encoded test pairs and ROUGE-L of the greedy summaries
 * {@link generate} writes for their prompts (up to eos), with `adapters`
 * applied (none: the base model).
 */
export async function scoreOnTest(
  backend: Backend,
  model: CausalLM,
  test: { readonly pairs: readonly DemoPair[]; readonly examples: readonly Example[] },
  run: {
    readonly adapters: readonly DeviceAdapter[];
    readonly tokenizer: Tokenizer;
    readonly maxNewTokens: number;
    readonly batchSize: number;
    readonly signal?: AbortSignal;
  },
): Promise<TestScores> {
  const { tokenizer } = run;
  const { loss } = await evaluateLoss(backend, model, test.examples, {
    adapters: run.adapters,
    padId: tokenizer.pad,
    batchSize: run.batchSize,
    signal: run.signal,
  });
  const predictions: string[] = [];
  for (const example of test.examples) {
    throwIfAborted(run.signal);
    const { tokens } = await generate(model, promptIds(example), { adapters: run.adapters, maxNewTokens: run.maxNewTokens, stopTokens: [tokenizer.eos!] });
    predictions.push(tokenizer.decode(tokens));
  }
  const byLanguage = (language: DemoPair['language']) => {
    const rows = test.pairs.flatMap((p, i) => (p.language === language ? [i] : []));
    if (rows.length === 0) return { score: 0, n: 0 };
    const tokenization = language === 'en' ? 'words' : 'chars';
    return {
      score: rougeCorpus(
        rows.map((i) => predictions[i]),
        rows.map((i) => test.pairs[i].summary),
        tokenization,
      ).rougeL,
      n: rows.length,
    };
  };
  const en = byLanguage('en');
  const ja = byLanguage('ja');
  return { loss, rougeL: (en.score * en.n + ja.score * ja.n) / (en.n + ja.n), rougeLEn: en.score, rougeLJa: ja.score, predictions };
}
