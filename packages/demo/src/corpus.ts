import { DEFAULT_PROMPT_TEMPLATE } from '@lorafuse/core';
import { generatePairs, RELATED_DOMAINS, TARGET_DOMAIN, type DemoDomain, type DemoLanguage, type DemoPair } from './domains.js';
import { SeededRandom } from './random.js';

/** How many pairs the corpus holds, per language. */
export interface CorpusSizes {
  /** Pairs per related domain whose texts pretrain the base model. */
  readonly pretrain: number;
  /** Pairs per related domain that train its LoRA. */
  readonly related: number;
  /** Target-domain training pairs (the low-resource set). */
  readonly targetTrain: number;
  /** Held-out target-domain test pairs. */
  readonly targetTest: number;
}

/** The demo's data, generated from a seed. */
export interface DemoCorpus {
  /**
   * Plain texts of the related domains for pretraining: each pair written out
   * with the prompt template (`{source}\nTL;DR: {summary}`), so the base model
   * learns the languages and the summary format; no target-domain text.
   */
  readonly pretrain: readonly string[];
  /** Training pairs of each related domain, both languages. */
  readonly related: ReadonlyMap<DemoDomain, readonly DemoPair[]>;
  /** The target domain's few training pairs, both languages. */
  readonly targetTrain: readonly DemoPair[];
  /** The target domain's test pairs, both languages; none repeats a training source. */
  readonly targetTest: readonly DemoPair[];
}

const LANGUAGES: readonly DemoLanguage[] = ['en', 'ja'];

/**
 * Generates the demo corpus deterministically from `seed`: English and
 * Japanese pairs of four related domains (weather bulletins, match reports,
 * product notices, recipes) and of the target domain (train-service
 * updates), each from its own seeded stream, so changing one size leaves the
 * others' pairs unchanged.
 */
export function generateCorpus(seed: number, sizes: CorpusSizes): DemoCorpus {
  const random = (name: string) => new SeededRandom(seed, name);
  const both = (domain: DemoDomain, split: string, count: number) => LANGUAGES.flatMap((l) => generatePairs(random, domain, l, split, count));
  const pretrain = RELATED_DOMAINS.flatMap((d) => both(d, 'pretrain', sizes.pretrain)).map(
    (p) => DEFAULT_PROMPT_TEMPLATE.replace('{source}', p.source) + p.summary,
  );
  const related = new Map(RELATED_DOMAINS.map((d) => [d, both(d, 'related', sizes.related)] as const));
  const targetTrain = both(TARGET_DOMAIN, 'train', sizes.targetTrain);
  const seen = new Set(targetTrain.map((p) => p.source));
  const targetTest = both(TARGET_DOMAIN, 'test', sizes.targetTest).filter((p) => !seen.has(p.source));
  return { pretrain, related, targetTrain, targetTest };
}
