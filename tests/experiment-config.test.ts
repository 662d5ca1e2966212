import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoraFuseError } from '@lorafuse/core';
import { compareResults } from '../experiments/compare.js';
import { loadExperimentConfig, parseExperimentConfig } from '../experiments/config.js';
import { experimentSettings, FULL_SCALE } from '../experiments/settings.js';

const root = join(import.meta.dirname, '..');
const FILE = '/configs/x.json';

const valid = () => ({
  name: 'x',
  data: '../corpus',
  languages: ['en', 'de'],
  targets: [{ name: 'de-faq', language: 'de', domains: ['faq'], sizes: { train: 8, dev: 4, test: 8 }, rouge: 'words' }],
  pretrain: { maxTexts: 100 },
  related: { domains: ['news', 'blogs'], maxPairs: 50 },
  methods: ['adaptive+prune', 'zero-shot'],
  seeds: [0, 1],
  ratioGrid: [0.5],
});

/** The error `parseExperimentConfig` throws for `value`, as code and field. */
function failure(value: unknown): { code: string; field: unknown; message: string } {
  try {
    parseExperimentConfig(value, FILE);
  } catch (error) {
    if (!isLoraFuseError(error)) throw error;
    return { code: error.code, field: error.details.field, message: error.message };
  }
  throw new Error('the config was accepted');
}

/** `valid()` with `edit` applied. */
const edited = (edit: (c: ReturnType<typeof valid> & Record<string, unknown>) => void) => {
  const c = valid() as ReturnType<typeof valid> & Record<string, unknown>;
  edit(c);
  return c;
};

describe('experiment config', () => {
  it('parses a valid config: data relative to the file, methods in table order, no quick variant', () => {
    const config = parseExperimentConfig(valid(), FILE);
    expect(config.data).toBe('/corpus');
    expect(config.methods).toEqual(['zero-shot', 'adaptive+prune']);
    expect(config.pretrain.domains).toBeNull();
    expect(config.quick).toBeNull();
    const settings = experimentSettings(config, false);
    expect(settings).toMatchObject({ relatedDomains: ['news', 'blogs'], maxPretrainTexts: 100, maxRelatedPairs: 50, ratioGrid: [0.5] });
    expect(settings.pretrain).toEqual(FULL_SCALE.pretrain);
    expect(() => experimentSettings(config, true)).toThrow(/no "quick" section/);
  });

  it('names the bad field in a typed error', () => {
    const cases: [unknown, string, string][] = [
      [[], 'INVALID_OPTION', '(the file)'],
      [edited((c) => delete (c as Record<string, unknown>).seeds), 'INVALID_OPTION', 'seeds'],
      [edited((c) => (c.extra = 1)), 'UNKNOWN_OPTION', 'extra'],
      [edited((c) => ((c.targets[0] as Record<string, unknown>).szes = {})), 'UNKNOWN_OPTION', 'targets[0].szes'],
      [edited((c) => (c.targets[0].sizes.train = 0)), 'INVALID_OPTION', 'targets[0].sizes.train'],
      [edited((c) => (c.targets[0].sizes.dev = 2.5)), 'INVALID_OPTION', 'targets[0].sizes.dev'],
      [edited((c) => (c.targets[0].language = 'fr')), 'INVALID_OPTION', 'targets[0].language'],
      [edited((c) => (c.targets[0].rouge = 'bytes')), 'INVALID_OPTION', 'targets[0].rouge'],
      [edited((c) => (c.targets[0].name = '../escape')), 'INVALID_OPTION', 'targets[0].name'],
      [edited((c) => c.targets.push({ ...c.targets[0] })), 'INVALID_OPTION', 'targets'],
      [edited((c) => (c.related.domains = ['news', 'faq'])), 'INVALID_OPTION', 'related.domains[1]'],
      [edited((c) => (c.related.domains = [])), 'INVALID_OPTION', 'related.domains'],
      [edited((c) => (c.pretrain = { maxTexts: 100, domains: ['faq'] } as typeof c.pretrain)), 'INVALID_OPTION', 'pretrain.domains[0]'],
      [edited((c) => (c.pretrain.maxTexts = -1)), 'INVALID_OPTION', 'pretrain.maxTexts'],
      [edited((c) => (c.methods = ['zero-shot', 'lora-soup'])), 'INVALID_OPTION', 'methods[1]'],
      [edited((c) => (c.seeds = [1, 1])), 'INVALID_OPTION', 'seeds'],
      [edited((c) => (c.seeds = [2 ** 32])), 'INVALID_OPTION', 'seeds[0]'],
      [edited((c) => (c.ratioGrid = [0.5, 1])), 'INVALID_OPTION', 'ratioGrid[1]'],
      [edited((c) => (c.languages = ['en', 'en'])), 'INVALID_OPTION', 'languages'],
      [edited((c) => (c.data = '')), 'INVALID_OPTION', 'data'],
      [edited((c) => (c.quick = { sizes: { train: 1, dev: 1, test: 1 }, maxPretrainTexts: 1, maxRelatedPairs: 1 })), 'INVALID_OPTION', 'quick.ratioGrid'],
    ];
    for (const [value, code, field] of cases) {
      const got = failure(value);
      expect({ code: got.code, field: got.field }, got.message).toEqual({ code, field });
      expect(got.message).toContain(FILE);
      expect(got.message).toContain(field);
    }
  });

  it('loads the committed man-pages config, the default of npm run experiment', async () => {
    const loaded = await loadExperimentConfig(join(root, 'experiments/configs/manpages.json'));
    expect(loaded.config.data).toBe(join(root, '../shared/data/manpages'));
    expect(loaded.config.targets.map((t) => [t.name, t.sizes, t.rouge])).toEqual([
      ['ja-man5-7', { train: 50, dev: 38, test: 100 }, 'chars'],
      ['en-man7', { train: 50, dev: 50, test: 100 }, 'words'],
    ]);
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(loadExperimentConfig(join(root, 'experiments/configs/absent.json'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('docs/experiments.md shows the committed man-pages config (its description shortened)', async () => {
    const docs = await readFile(join(root, 'docs/experiments.md'), 'utf8');
    const shown = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(docs)![1]);
    const committed = JSON.parse(await readFile(join(root, 'experiments/configs/manpages.json'), 'utf8'));
    expect({ ...shown, description: '' }).toEqual({ ...committed, description: '' });
  });
});

describe('experiment:check comparison', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-compare-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the committed quick results with `edit` applied to one file's text. */
  async function copyWith(name: string, file: string, edit: (text: string) => string): Promise<string> {
    const to = join(dir, name);
    await cp(join(root, 'docs/experiments/quick'), to, { recursive: true });
    await writeFile(join(to, file), edit(await readFile(join(to, file), 'utf8')));
    return to;
  }

  it('ignores wall times and provenance, and reports any other change by file and field', async () => {
    const committed = join(root, 'docs/experiments/quick');
    const summary = JSON.parse(await readFile(join(committed, 'summary.json'), 'utf8'));
    const row = summary.summary[0].rows[1];

    // Timing columns, timing fields and the provenance differ between runs of the same code.
    const timing = await copyWith('timing', 'summary.json', (text) => {
      const s = JSON.parse(text);
      s.summary[0].rows[1].fitSeconds.mean += 7;
      s.provenance.commit = 'another';
      return JSON.stringify(s);
    });
    await writeFile(
      join(timing, 'results.md'),
      (await readFile(join(timing, 'results.md'), 'utf8'))
        .replace(/\| (\d+) ± (\d+) \| (\d+) ± (\d+) \|\n/, '| 99 ± 9 | 98 ± 8 |\n')
        .replace(/- Report written by .*/, '- Report written by someone else.'),
    );
    const method = join(timing, `${summary.summary[0].target}/seed-0/adaptive.json`);
    const result = JSON.parse(await readFile(method, 'utf8'));
    await writeFile(method, JSON.stringify({ ...result, seconds: { fit: 1e6, evaluate: 1e6 }, provenance: null }));
    expect(await compareResults(committed, timing)).toEqual([]);

    // A loss in the last digits, a cell of the table and a missing file are each reported.
    const changed = await copyWith('changed', 'summary.json', (text) => {
      const s = JSON.parse(text);
      s.summary[0].rows[1].loss.mean *= 1 + 1e-12;
      return JSON.stringify(s);
    });
    await writeFile(join(changed, 'results.md'), (await readFile(join(changed, 'results.md'), 'utf8')).replace(`| ${row.method} | `, `| ${row.method} | 1`));
    await rm(join(changed, `${summary.summary[0].target}/seed-0/zero-shot.json`));
    const report = (await compareResults(committed, changed)).join('\n');
    expect(report).toContain(`summary.json: 1 difference\n    summary[0].rows[1].loss.mean: committed ${row.loss.mean}, fresh `);
    expect(report).toMatch(/results\.md: 1 difference\n {4}line \d+:\n {6}committed \| target-only \| [\d.]+ ± [\d.]+ \|.*\n {6}fresh {5}\| target-only \| 1/);
    expect(report).toContain(`${summary.summary[0].target}/seed-0/zero-shot.json: only in the committed results`);
  });
});
