import { LoraFuseError } from '../errors/index.js';

/** How ROUGE splits text: lowercase words (English) or single characters (Japanese). */
export type RougeTokenization = 'words' | 'chars';

/** ROUGE-1/2/L F1 (the `eval --metric rouge` output); averages over pairs for {@link rougeCorpus}. */
export interface RougeScores {
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
  /** The tokenisation the scores were computed with. */
  readonly tokenization: RougeTokenization;
  /** Number of (prediction, reference) pairs scored. */
  readonly n: number;
}

const JAPANESE = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

/** `chars` when the text holds kana or kanji, else `words`. */
export function detectRougeTokenization(text: string): RougeTokenization {
  return JAPANESE.test(text) ? 'chars' : 'words';
}

/**
 * Tokens for ROUGE: `words` are the lowercase runs of letters and digits
 * (whitespace and punctuation split them); `chars` are the single letters
 * and digits (whitespace and punctuation dropped).
 */
export function rougeTokens(text: string, tokenization: RougeTokenization): string[] {
  const lower = text.toLowerCase();
  return tokenization === 'words' ? (lower.match(/[\p{L}\p{N}]+/gu) ?? []) : (lower.match(/[\p{L}\p{N}]/gu) ?? []);
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function f1(overlap: number, predicted: number, reference: number): number {
  if (overlap === 0 || predicted === 0 || reference === 0) return 0;
  const precision = overlap / predicted;
  const recall = overlap / reference;
  return (2 * precision * recall) / (precision + recall);
}

function rougeN(prediction: readonly string[], reference: readonly string[], n: number): number {
  const p = ngramCounts(prediction, n);
  const r = ngramCounts(reference, n);
  let overlap = 0;
  for (const [gram, count] of p) overlap += Math.min(count, r.get(gram) ?? 0);
  return f1(overlap, Math.max(0, prediction.length - n + 1), Math.max(0, reference.length - n + 1));
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const row = [0];
    for (let j = 0; j < b.length; j++) row.push(x === b[j] ? previous[j] + 1 : Math.max(previous[j + 1], row[j]));
    previous = row;
  }
  return previous[b.length];
}

/**
 * ROUGE-1, ROUGE-2 (clipped n-gram overlap) and ROUGE-L (longest common
 * subsequence) F1 of one prediction against one reference. The
 * tokenisation defaults to {@link detectRougeTokenization} of the reference.
 */
export function rouge(prediction: string, reference: string, tokenization: RougeTokenization = detectRougeTokenization(reference)): RougeScores {
  const p = rougeTokens(prediction, tokenization);
  const r = rougeTokens(reference, tokenization);
  return { rouge1: rougeN(p, r, 1), rouge2: rougeN(p, r, 2), rougeL: f1(lcsLength(p, r), p.length, r.length), tokenization, n: 1 };
}

/**
 * Mean ROUGE F1 over pairs (the usual corpus score), with one tokenisation
 * for all of them: `chars` when any reference holds Japanese, unless given.
 * Throws `INVALID_OPTION` for mismatched or empty lists.
 */
export function rougeCorpus(predictions: readonly string[], references: readonly string[], tokenization?: RougeTokenization): RougeScores {
  if (predictions.length !== references.length || references.length === 0) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      `ROUGE needs equally many predictions and references (at least one); got ${predictions.length} and ${references.length}.`,
    );
  }
  const mode = tokenization ?? (references.some((r) => detectRougeTokenization(r) === 'chars') ? 'chars' : 'words');
  const scores = predictions.map((p, i) => rouge(p, references[i], mode));
  const mean = (key: 'rouge1' | 'rouge2' | 'rougeL') => scores.reduce((s, x) => s + x[key], 0) / scores.length;
  return { rouge1: mean('rouge1'), rouge2: mean('rouge2'), rougeL: mean('rougeL'), tokenization: mode, n: scores.length };
}
