import {
  DEFAULT_PROMPT_TEMPLATE,
  encodeRecord,
  evaluateLoss,
  generate,
  rouge,
  throwIfAborted,
  type Backend,
  type CausalLM,
  type DeviceAdapter,
  type Example,
  type RougeTokenization,
  type Tokenizer,
} from '@lorafuse/core';
import { promptIds } from '../packages/demo/src/evaluate.js';
import type { PageRecord } from './corpus.js';
import { mean } from './statistics.js';

/** Scores of one test or dev item. */
export interface ItemScore {
  readonly id: string;
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
  /** The greedy summary. */
  readonly prediction: string;
}

/** Scores of one adapter (or the base model) on a split. */
export interface SplitScores {
  /** Mean negative log-likelihood per summary token (nats), eos included. */
  readonly loss: number;
  /** Mean ROUGE F1 over the items. */
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
  readonly tokenization: RougeTokenization;
  readonly items: readonly ItemScore[];
}

/** Source tokens every encoded pair keeps: a longer summary is cut (from its end) to leave them room. */
const MIN_SOURCE_TOKENS = 32;

/**
 * A page's summary as training sees it: cut by whole characters so that the
 * prompt template, {@link MIN_SOURCE_TOKENS} of source and the eos still fit
 * `maxLength` (a few long NAME lines; ROUGE still scores against the full summary).
 */
export function trainingSummary(summary: string, tokenizer: Tokenizer, maxLength: number): string {
  const budget = maxLength - tokenizer.encode(DEFAULT_PROMPT_TEMPLATE.replace('{source}', '')).length - MIN_SOURCE_TOKENS - 1;
  const chars = [...summary];
  let end = chars.length;
  while (end > 1 && tokenizer.encode(chars.slice(0, end).join('')).length > budget) end--;
  return chars.slice(0, end).join('');
}

/** Encodes pages as `{source}\nTL;DR: {summary}<eos>` pairs with the loss on the summary ({@link trainingSummary}) and eos. */
export function encodePages(pages: readonly PageRecord[], tokenizer: Tokenizer, maxLength: number): Example[] {
  return pages.map((p) =>
    encodeRecord({ kind: 'pair', source: p.source, summary: trainingSummary(p.summary, tokenizer, maxLength) }, tokenizer, { maxLength, appendEos: true }),
  );
}

/**
 * Loss of the pages' summaries and ROUGE-1/2/L of the greedy summaries the
 * model writes for their prompts (up to eos or `maxNewTokens`), with
 * `adapters` applied (none: the base model).
 */
export async function scorePages(
  backend: Backend,
  model: CausalLM,
  pages: readonly PageRecord[],
  run: {
    readonly adapters: readonly DeviceAdapter[];
    readonly tokenizer: Tokenizer;
    readonly maxLength: number;
    readonly maxNewTokens: number;
    readonly tokenization: RougeTokenization;
    readonly signal?: AbortSignal;
  },
): Promise<SplitScores> {
  const { tokenizer } = run;
  const examples = encodePages(pages, tokenizer, run.maxLength);
  const { loss } = await evaluateLoss(backend, model, examples, { adapters: run.adapters, padId: tokenizer.pad, batchSize: 16, signal: run.signal });
  const items: ItemScore[] = [];
  for (const [i, example] of examples.entries()) {
    throwIfAborted(run.signal);
    const { tokens } = await generate(model, promptIds(example), { adapters: run.adapters, maxNewTokens: run.maxNewTokens, stopTokens: [tokenizer.eos!] });
    const prediction = tokenizer.decode(tokens.filter((t) => t !== tokenizer.eos));
    const s = rouge(prediction, pages[i].summary, run.tokenization);
    items.push({ id: pages[i].id, rouge1: s.rouge1, rouge2: s.rouge2, rougeL: s.rougeL, prediction });
  }
  const avg = (key: 'rouge1' | 'rouge2' | 'rougeL') => mean(items.map((x) => x[key]));
  return { loss, rouge1: avg('rouge1'), rouge2: avg('rouge2'), rougeL: avg('rougeL'), tokenization: run.tokenization, items };
}
