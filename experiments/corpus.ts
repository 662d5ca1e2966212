import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoraFuseError } from '@lorafuse/core';
import { SeededRandom } from '../packages/demo/src/random.js';
import type { TargetSpec } from './config.js';
import type { ExperimentSettings } from './settings.js';

/** One corpus line: `id` is `lang:page.section`. */
export interface PageRecord {
  readonly id: string;
  readonly lang: string;
  readonly domain: string;
  readonly source: string;
  readonly summary: string;
}

/** A target's pages per split. */
export interface TargetSplits {
  readonly train: readonly PageRecord[];
  readonly dev: readonly PageRecord[];
  readonly test: readonly PageRecord[];
}

/** The data of one run: what pretrains the base, what trains each related LoRA, and each target's splits. */
export interface ExperimentData {
  /** One text per page of the pretraining domains (none of a target's), every language: its summary line, then its source. */
  readonly pretrain: readonly string[];
  /** Pairs of each related domain, every language. */
  readonly related: ReadonlyMap<string, readonly PageRecord[]>;
  readonly targets: ReadonlyMap<string, TargetSplits>;
}

const SPLITS = ['train', 'dev', 'test'] as const;
type Split = (typeof SPLITS)[number];

/** The page key shared by every language version of a page: the id after `lang:`. */
export const pageKey = (record: PageRecord) => record.id.slice(record.id.indexOf(':') + 1);

/** Reads `<language>.jsonl` in `dir` for each of `languages`; throws `FILE_NOT_FOUND` when one is missing. */
export async function readCorpus(dir: string, languages: readonly string[]): Promise<PageRecord[]> {
  const records: PageRecord[] = [];
  for (const language of languages) {
    const file = join(dir, `${language}.jsonl`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
      throw new LoraFuseError(missing ? 'FILE_NOT_FOUND' : 'FILE_READ_FAILED', `Cannot read ${file}, the corpus file of language ${language}.`, { cause });
    }
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let r: PageRecord;
      try {
        r = JSON.parse(line) as PageRecord;
      } catch (cause) {
        throw new LoraFuseError('INVALID_JSON', `${language}.jsonl line ${i + 1} is not JSON.`, { cause });
      }
      if (typeof r.id !== 'string' || typeof r.domain !== 'string' || typeof r.source !== 'string' || typeof r.summary !== 'string') {
        throw new LoraFuseError('DATA_INVALID', `${language}.jsonl line ${i + 1} lacks a string id, domain, source or summary.`);
      }
      records.push({ id: r.id, lang: r.lang ?? language, domain: r.domain, source: r.source, summary: r.summary });
    }
  }
  if (records.length === 0) throw new LoraFuseError('DATA_INVALID', `${dir} holds no records in ${languages.map((l) => `${l}.jsonl`).join(', ')}.`);
  return records;
}

/** `items` in a seeded random order (Fisher–Yates over a named Philox stream). */
function shuffled<T>(items: readonly T[], seed: number, name: string): T[] {
  const out = [...items];
  const random = new SeededRandom(seed, name);
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Splits the corpus by page (the id after `lang:`), across languages: the
 * targets are assigned in order, a page already assigned by an earlier
 * target keeps its split (or is left out when that split is full), and the
 * remaining pages fill train, dev and test in a seeded order. No page of a
 * target domain, in any language, and no page a target uses is in the
 * pretraining texts or the related pairs. Throws `DATA_INVALID` when a target has too few pages.
 */
export function splitCorpus(records: readonly PageRecord[], settings: ExperimentSettings, seed = 0): ExperimentData {
  const assigned = new Map<string, Split>();
  const targets = new Map<string, TargetSplits>();
  for (const target of settings.targets) targets.set(target.name, assignTarget(records, target, assigned, seed));
  const targetDomains = new Set(settings.targets.flatMap((t) => t.domains));
  const free = records.filter((r) => !targetDomains.has(r.domain) && !assigned.has(pageKey(r)));
  const pretrainPages = settings.pretrainDomains === null ? free : free.filter((r) => settings.pretrainDomains!.includes(r.domain));
  const pretrain = shuffled(pretrainPages, seed, 'experiment/pretrain')
    .slice(0, settings.maxPretrainTexts)
    .map((r) => `${r.summary}\n${r.source}`);
  if (pretrain.length === 0)
    throw new LoraFuseError('DATA_INVALID', 'No page is left for pretraining (every page is a target domain or outside pretrain.domains).');
  const related = new Map(
    settings.relatedDomains.map((d) => [
      d,
      shuffled(
        free.filter((r) => r.domain === d),
        seed,
        `experiment/related/${d}`,
      ).slice(0, settings.maxRelatedPairs),
    ]),
  );
  for (const [domain, pairs] of related) if (pairs.length === 0) throw new LoraFuseError('DATA_INVALID', `The related domain ${domain} has no pages.`);
  return { pretrain, related, targets };
}

function assignTarget(records: readonly PageRecord[], target: TargetSpec, assigned: Map<string, Split>, seed: number): TargetSplits {
  const pages = records.filter((r) => r.lang === target.language && target.domains.includes(r.domain));
  const splits: Record<Split, PageRecord[]> = { train: [], dev: [], test: [] };
  const room = (s: Split) => splits[s].length < target.sizes[s];
  const fresh: PageRecord[] = [];
  for (const page of pages) {
    const split = assigned.get(pageKey(page));
    if (split === undefined) fresh.push(page);
    else if (room(split)) splits[split].push(page);
  }
  for (const page of shuffled(fresh, seed, `experiment/split/${target.name}`)) {
    const split = SPLITS.find(room);
    if (split === undefined) break;
    splits[split].push(page);
    assigned.set(pageKey(page), split);
  }
  for (const s of SPLITS) {
    if (room(s))
      throw new LoraFuseError('DATA_INVALID', `Target ${target.name} has ${splits[s].length} ${s} pages; it needs ${target.sizes[s]}.`, {
        details: { target: target.name, split: s },
      });
    for (const page of splits[s]) assigned.set(pageKey(page), s);
  }
  return splits;
}
