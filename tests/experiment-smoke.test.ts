import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperimentConfig } from '../experiments/config.js';
import { pageKey, readCorpus, splitCorpus, type PageRecord } from '../experiments/corpus.js';
import { METHODS } from '../experiments/methods.js';
import { experimentSettings } from '../experiments/settings.js';
import { pairedBootstrap } from '../experiments/statistics.js';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

// A synthetic corpus unlike the man pages: reviews and FAQs as targets, three
// related domains and a fourth that only pretrains, in English and Japanese,
// with pages that exist in both languages under the same key.
function synthetic(): { en: PageRecord[]; ja: PageRecord[] } {
  const en: PageRecord[] = [];
  const ja: PageRecord[] = [];
  const add = (lang: 'en' | 'ja', page: string, domain: string, i: number) =>
    (lang === 'en' ? en : ja).push({
      id: `${lang}:${page}`,
      lang,
      domain,
      source: lang === 'en' ? `the ${domain} item ${i} tells how to do task number ${i}.` : `${domain}の項目${i}は作業${i}のやり方を説明する。`,
      summary: lang === 'en' ? `do task ${i}` : `作業${i}をする`,
    });
  for (const domain of ['cooking', 'travel', 'sports', 'garden'])
    for (let i = 0; i < 6; i++) for (const lang of ['en', 'ja'] as const) add(lang, `${domain}-${i}`, domain, i);
  // 14 English reviews (11 needed) of which 8 are also Japanese, and 9 Japanese FAQs (11 Japanese target pages needed).
  for (let i = 0; i < 14; i++) add('en', `review-${i}`, 'reviews', i);
  for (let i = 0; i < 8; i++) add('ja', `review-${i}`, 'reviews', i);
  for (let i = 0; i < 9; i++) add('ja', `faq-${i}`, 'faq', i);
  for (let i = 0; i < 3; i++) add('en', `faq-${i}`, 'faq', i);
  return { en, ja };
}

const sizes = { train: 4, dev: 3, test: 4 };
const config = (methods: readonly string[] = METHODS) => ({
  name: 'synthetic',
  data: '.',
  languages: ['en', 'ja'],
  targets: [
    { name: 'ja-help', language: 'ja', domains: ['reviews', 'faq'], sizes: { train: 50, dev: 50, test: 100 }, rouge: 'chars' },
    { name: 'en-reviews', language: 'en', domains: ['reviews'], sizes: { train: 50, dev: 50, test: 100 }, rouge: 'words' },
  ],
  pretrain: { maxTexts: 1000, domains: ['cooking', 'travel', 'garden'] },
  related: { domains: ['cooking', 'travel', 'sports'], maxPairs: 1000 },
  methods,
  seeds: [0, 1],
  ratioGrid: [0.25, 0.5, 0.75],
  quick: { sizes, maxPretrainTexts: 16, maxRelatedPairs: 5, ratioGrid: [0.25, 0.5] },
});

/** What `git` says about the checkout (null outside one), independently of the harness. */
function gitHead(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

describe('experiment harness on a config over a synthetic corpus', () => {
  let data: string;
  let cache: string;
  let configFile: string;
  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-data-'));
    cache = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-cache-'));
    const { en, ja } = synthetic();
    await writeFile(join(data, 'en.jsonl'), en.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeFile(join(data, 'ja.jsonl'), ja.map((r) => JSON.stringify(r)).join('\n') + '\n');
    configFile = join(data, 'synthetic.json');
    await writeFile(configFile, JSON.stringify(config(), null, 2));
  });
  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('splits by page across languages and keeps target pages out of pretraining and related data', async () => {
    const { config: loaded } = await loadExperimentConfig(configFile);
    expect(loaded.data).toBe(data);
    const settings = experimentSettings(loaded, true);
    const split = splitCorpus(await readCorpus(data, loaded.languages), settings, 0);
    const where = new Map<string, string>();
    for (const spec of loaded.targets) {
      const splits = split.targets.get(spec.name)!;
      for (const s of ['train', 'dev', 'test'] as const) {
        expect(splits[s]).toHaveLength(sizes[s]);
        for (const page of splits[s]) {
          expect(page.lang).toBe(spec.language);
          expect(spec.domains).toContain(page.domain);
          const key = pageKey(page);
          expect(where.get(key) ?? s).toBe(s);
          where.set(key, s);
        }
      }
    }
    // Some pages are shared by the two targets, so the cross-language rule was exercised.
    const en = new Set([...Object.values(split.targets.get('en-reviews')!)].flat().map(pageKey));
    const ja = [...Object.values(split.targets.get('ja-help')!)].flat().map(pageKey);
    expect(ja.some((k) => en.has(k))).toBe(true);
    expect([...split.related.keys()]).toEqual(['cooking', 'travel', 'sports']);
    for (const [domain, pairs] of split.related) {
      expect(pairs).toHaveLength(5);
      for (const r of pairs) expect(r.domain).toBe(domain);
    }
    // Pretraining: only the configured domains, no target and no sports page.
    expect(split.pretrain).toHaveLength(16);
    for (const text of split.pretrain) expect(text).toMatch(/cooking|travel|garden/);
  });

  it('paired bootstrap p-values match the exact resampling distribution', () => {
    // Differences +1, +1, −1: a resample's sum is ≤ 0 when at least two of its three draws are −1,
    // probability 3·(1/3)²·(2/3) + (1/3)³ = 7/27.
    const { p, difference } = pairedBootstrap([1, 1, 0], [0, 0, 1], 20_000, 3);
    expect(difference).toBeCloseTo(1 / 3, 12);
    expect(p).toBeGreaterThan(7 / 27 - 0.015);
    expect(p).toBeLessThan(7 / 27 + 0.015);
    expect(pairedBootstrap([2, 3], [1, 1], 1000, 0).p).toBe(0);
    expect(pairedBootstrap([1, 2], [1, 2], 1000, 0).p).toBe(1);
  });

  it('npm run experiment -- --config <file> --quick writes every method per seed, finite tables, the plots and the provenance', async () => {
    const out = join(cache, 'results');
    const args = [join(root, 'experiments/run.mjs'), '--config', configFile, '--quick', '--cache', cache, '--out', out];
    const first = await run(process.execPath, args, { cwd: root });
    expect(first.stdout).toMatch(/done in/);
    for (const target of ['en-reviews', 'ja-help']) {
      for (const seed of [0, 1]) expect((await readdir(join(out, target, `seed-${seed}`))).sort()).toEqual(METHODS.map((m) => `${m}.json`).sort());
    }
    const result = JSON.parse(await readFile(join(out, 'ja-help/seed-1/adaptive+prune.json'), 'utf8'));
    expect(result).toMatchObject({ target: 'ja-help', seed: 1, method: 'adaptive+prune', tokenization: 'chars' });
    expect(result.items).toHaveLength(sizes.test);
    expect([0.25, 0.5]).toContain(result.details.ratio);

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.summary.map((s: { target: string }) => s.target)).toEqual(['ja-help', 'en-reviews']);
    for (const { rows, comparisons } of summary.summary) {
      expect(rows.map((r: { method: string }) => r.method)).toEqual([...METHODS]);
      for (const row of rows) {
        expect(row.seeds).toBe(2);
        for (const key of ['rouge1', 'rouge2', 'rougeL', 'loss'])
          for (const v of [row[key].mean, row[key].std]) expect(Number.isFinite(v), `${row.method} ${key}`).toBe(true);
        for (const key of ['rouge1', 'rouge2', 'rougeL']) expect(row[key].mean).toBeGreaterThanOrEqual(0);
        expect(row.loss.mean).toBeGreaterThan(0);
        if (row.method === 'zero-shot') expect(row.sparsity).toBeNull();
        else expect(row.sparsity.mean).toBeGreaterThanOrEqual(0);
      }
      expect(comparisons.map((c: { baseline: string }) => c.baseline)).toEqual(METHODS.filter((m) => m !== 'adaptive+prune'));
      for (const c of comparisons) {
        expect(Number.isFinite(c.difference)).toBe(true);
        expect(c.p).toBeGreaterThanOrEqual(0);
        expect(c.p).toBeLessThanOrEqual(1);
      }
    }
    // The report names its config (path and the SHA-256 of its bytes) and what computed it.
    const sha256 = createHash('sha256')
      .update(await readFile(configFile))
      .digest('hex');
    const commit = gitHead();
    expect(summary.provenance).toMatchObject({
      config: { path: configFile, name: 'synthetic', sha256 },
      commit,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      backend: 'wasm',
      simd: 'plain',
      threads: 1,
    });
    expect(typeof summary.provenance.dirty).toBe(commit === null ? 'object' : 'boolean');
    // One group: every stage computed by this run (1 base, 3 related LoRAs, 2 × 2 target LoRAs, 2 × 2 × 7 results).
    expect(summary.provenance.stages).toHaveLength(1);
    expect(summary.provenance.stages[0].stages).toHaveLength(1 + 3 + 4 + 4 * METHODS.length);
    expect(result.provenance).toEqual(summary.provenance.stages[0].provenance);

    const md = await readFile(join(out, 'results.md'), 'utf8');
    for (const method of METHODS) expect(md).toContain(`| ${method} |`);
    expect(md).toContain('over 2 seeds');
    expect(md).toContain(`npm run experiment -- ${args.slice(1).join(' ')}`);
    expect(md).toContain(`\`${configFile}\` (synthetic, sha256 \`${sha256.slice(0, 16)}\`)`);
    expect(md).toContain(commit === null ? 'no git commit' : `commit \`${commit.slice(0, 10)}\``);
    expect(md).toContain('plain SIMD build, 1 thread');
    expect(await readFile(join(out, 'dev-grid.svg'), 'utf8')).toMatch(/^<svg/);

    // Another method list keeps every stage cached (the cache keys do not hash it); the report holds just those methods.
    const fewer = join(data, 'fewer.json');
    await writeFile(fewer, JSON.stringify(config(['zero-shot', 'adaptive+prune'])));
    const second = await run(process.execPath, [...args.slice(0, 2), fewer, ...args.slice(3)], { cwd: root });
    expect(second.stdout).toMatch(/base model .*: cached/);
    expect(second.stdout).not.toMatch(/step \d+\//);
    expect(second.stdout.match(/: cached/g)).toHaveLength(1 + 3 + 2 * 2 * 2);
    expect((await readdir(join(out, 'en-reviews', 'seed-0'))).sort()).toEqual(['adaptive+prune.json', 'zero-shot.json']);
    const again = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(again.summary[0].rows.map((r: { method: string }) => r.method)).toEqual(['zero-shot', 'adaptive+prune']);
    expect(again.summary[0].comparisons.map((c: { baseline: string }) => c.baseline)).toEqual(['zero-shot']);
    // The same numbers as the first run, read from the cache.
    expect(again.summary[0].rows[1].rougeL).toEqual(summary.summary[0].rows[METHODS.length - 1].rougeL);

    // A stage cached without its provenance (a cache older than provenance) is reported as not recorded, the rest as before.
    const runs = (await readdir(cache)).find((name) => name.startsWith('runs-') && existsSync(join(cache, name, 'ja-help')))!;
    await rm(join(cache, runs, 'ja-help/seed-0/zero-shot.provenance.json'));
    await run(process.execPath, [...args.slice(0, 2), fewer, ...args.slice(3), '--stage', 'report'], { cwd: root });
    const partial = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(partial.provenance.stages).toEqual([
      { provenance: summary.provenance.stages[0].provenance, stages: expect.any(Array) },
      { provenance: null, stages: ['ja-help/seed-0/zero-shot'] },
    ]);
    expect(await readFile(join(out, 'results.md'), 'utf8')).toContain('- 1 method result: not recorded');
    expect(JSON.parse(await readFile(join(out, 'ja-help/seed-0/zero-shot.json'), 'utf8')).provenance).toBeNull();
  });
});
