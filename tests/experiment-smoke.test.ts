import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageKey, readCorpus, splitCorpus, type PageRecord } from '../experiments/corpus.js';
import { METHODS } from '../experiments/methods.js';
import { QUICK_EXPERIMENT_SETTINGS } from '../experiments/settings.js';
import { pairedBootstrap } from '../experiments/statistics.js';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

// A synthetic corpus with the manual-page layout: related domains in both
// languages, English man7 and Japanese man5/man7 pages, and pages that
// exist in both languages under the same page.section.
function synthetic(): { en: PageRecord[]; ja: PageRecord[] } {
  const en: PageRecord[] = [];
  const ja: PageRecord[] = [];
  const add = (lang: 'en' | 'ja', page: string, domain: string, i: number) =>
    (lang === 'en' ? en : ja).push({
      id: `${lang}:${page}`,
      lang,
      domain,
      source: lang === 'en' ? `tool ${i} reads files and writes report number ${i}.` : `ツール${i}はファイルを読み、報告${i}を書く。`,
      summary: lang === 'en' ? `write report ${i}` : `報告${i}を書く`,
    });
  for (const domain of ['man1', 'man2', 'man3', 'man8', 'man4'])
    for (let i = 0; i < 6; i++) for (const lang of ['en', 'ja'] as const) add(lang, `cmd${i}.${domain.slice(3)}`, domain, i);
  // 14 English man7 pages (11 needed) of which 8 are also Japanese, and 9 Japanese man5 pages (11 Japanese target pages needed).
  for (let i = 0; i < 14; i++) add('en', `topic${i}.7`, 'man7', i);
  for (let i = 0; i < 8; i++) add('ja', `topic${i}.7`, 'man7', i);
  for (let i = 0; i < 9; i++) add('ja', `format${i}.5`, 'man5', i);
  for (let i = 0; i < 3; i++) add('en', `format${i}.5`, 'man5', i);
  return { en, ja };
}

describe('experiment harness', () => {
  let data: string;
  let cache: string;
  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-data-'));
    cache = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-cache-'));
    const { en, ja } = synthetic();
    await writeFile(join(data, 'en.jsonl'), en.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeFile(join(data, 'ja.jsonl'), ja.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('splits by page across both languages and keeps target pages out of pretraining and related data', async () => {
    const records = await readCorpus(data);
    const split = splitCorpus(records, QUICK_EXPERIMENT_SETTINGS, 0);
    const where = new Map<string, string>();
    for (const [target, splits] of split.targets) {
      const spec = QUICK_EXPERIMENT_SETTINGS.targets.find((t) => t.name === target)!;
      for (const s of ['train', 'dev', 'test'] as const) {
        expect(splits[s]).toHaveLength(spec.sizes[s]);
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
    const en = new Set([...Object.values(split.targets.get('en-man7')!)].flat().map(pageKey));
    const ja = [...Object.values(split.targets.get('ja-man5-7')!)].flat().map(pageKey);
    expect(ja.some((k) => en.has(k))).toBe(true);
    const related = [...split.related.values()].flat();
    for (const r of related) expect(['man5', 'man7']).not.toContain(r.domain);
    for (const text of split.pretrain) expect(text).not.toMatch(/topic|format/);
    expect(split.pretrain.length).toBe(QUICK_EXPERIMENT_SETTINGS.maxPretrainTexts);
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

  it('npm run experiment -- --quick writes every method per seed, the tables and the plots', async () => {
    const out = join(cache, 'results');
    const args = [join(root, 'experiments/run.mjs'), '--quick', '--seeds', '0,1', '--data', data, '--cache', cache, '--out', out];
    const first = await run(process.execPath, args, { cwd: root });
    expect(first.stdout).toMatch(/done in/);
    for (const target of ['en-man7', 'ja-man5-7']) {
      for (const seed of [0, 1]) expect((await readdir(join(out, target, `seed-${seed}`))).sort()).toEqual(METHODS.map((m) => `${m}.json`).sort());
    }
    const result = JSON.parse(await readFile(join(out, 'ja-man5-7/seed-1/adaptive+prune.json'), 'utf8'));
    expect(result).toMatchObject({ target: 'ja-man5-7', seed: 1, method: 'adaptive+prune', tokenization: 'chars' });
    expect(result.items).toHaveLength(4);
    expect(QUICK_EXPERIMENT_SETTINGS.ratioGrid).toContain(result.details.ratio);
    const md = await readFile(join(out, 'results.md'), 'utf8');
    for (const method of METHODS) expect(md).toContain(`| ${method} |`);
    expect(md).toContain('over 2 seeds');
    expect(md).toContain(`npm run experiment -- ${args.slice(1).join(' ')}`);
    expect(await readFile(join(out, 'dev-grid.svg'), 'utf8')).toMatch(/^<svg/);
    // A second run finds every stage cached and trains nothing.
    const second = await run(process.execPath, args, { cwd: root });
    expect(second.stdout).toMatch(/base model .*: cached/);
    expect(second.stdout).not.toMatch(/step \d+\//);
    expect(second.stdout.match(/: cached/g)).toHaveLength(1 + 4 + 2 * 2 * METHODS.length);
  });
});
