import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LoraFuseError, type RougeTokenization } from '@lorafuse/core';
import { sha256Hex } from '../packages/demo/src/files.js';
import { METHODS, type Method } from './methods.js';

/** Pages per split of a target. */
export interface SplitSizes {
  readonly train: number;
  readonly dev: number;
  readonly test: number;
}

/** A low-resource target: pages of `language` in `domains`, split into train, dev and test by page. */
export interface TargetSpec {
  /** Name used on the command line and in result paths, e.g. `en-man7`. */
  readonly name: string;
  /** The corpus file the pages come from: `<language>.jsonl`. */
  readonly language: string;
  readonly domains: readonly string[];
  readonly sizes: SplitSizes;
  /** How ROUGE splits summaries into tokens: `words` (lower-cased) or `chars` (for scripts without spaces). */
  readonly rouge: RougeTokenization;
}

/** What `--quick` changes: fewer pages, texts and pairs, a shorter ratio grid (the training scale is the harness's). */
export interface QuickConfig {
  /** Pages per split of every target. */
  readonly sizes: SplitSizes;
  readonly maxPretrainTexts: number;
  readonly maxRelatedPairs: number;
  readonly ratioGrid: readonly number[];
}

/**
 * An experiment over one corpus (a `--config` file): which pages are
 * targets, which domains train related LoRAs and the base model, and which
 * methods, seeds and pruning ratios are compared. The training scale (model,
 * epochs, learning rates) is the harness's own, full or `--quick`.
 */
export interface ExperimentConfig {
  /** Short name, shown in the report. */
  readonly name: string;
  /** The corpus folder (absolute once loaded; in the file, relative to the file's folder). */
  readonly data: string;
  /** Corpus files read: `<language>.jsonl` for each. */
  readonly languages: readonly string[];
  /** The targets, in the order their pages are assigned to splits (the one with the fewest spare pages first). */
  readonly targets: readonly TargetSpec[];
  /** Pretraining texts: pages of `domains` (null: every domain that is not a target's), at most `maxTexts`. */
  readonly pretrain: { readonly maxTexts: number; readonly domains: readonly string[] | null };
  /** One related LoRA per domain, on at most `maxPairs` pages of it (every language). */
  readonly related: { readonly domains: readonly string[]; readonly maxPairs: number };
  /** Methods run and reported (table order is always {@link METHODS}'). */
  readonly methods: readonly Method[];
  /** Seeds of the target-side methods (`--seeds` overrides). */
  readonly seeds: readonly number[];
  /** Pruning ratios tried by adaptive merge + pruning; the one with the best dev ROUGE-L is kept. */
  readonly ratioGrid: readonly number[];
  /** The `--quick` variant; null when the file has none (then `--quick` is refused). */
  readonly quick: QuickConfig | null;
}

/** A config as loaded: the parsed content, where it came from and the SHA-256 of its bytes. */
export interface LoadedConfig {
  readonly config: ExperimentConfig;
  /** Absolute path of the file. */
  readonly path: string;
  readonly sha256: string;
}

/** Names that end up in file and folder names: a letter or digit, then letters, digits, `.`, `_`, `-`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_SEED = 2 ** 32 - 1;

type Fail = (field: string, expected: string, value: unknown) => never;

/** Reads and validates a config file; throws `FILE_NOT_FOUND`, `INVALID_JSON`, `INVALID_OPTION` or `UNKNOWN_OPTION` naming the field. */
export async function loadExperimentConfig(path: string): Promise<LoadedConfig> {
  const file = resolve(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new LoraFuseError(missing ? 'FILE_NOT_FOUND' : 'FILE_READ_FAILED', `Cannot read the experiment config ${file}.`, {
      cause,
      details: { config: file },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new LoraFuseError('INVALID_JSON', `The experiment config ${file} is not JSON: ${(cause as Error).message}`, { cause, details: { config: file } });
  }
  return { config: parseExperimentConfig(value, file), path: file, sha256: await sha256Hex(bytes) };
}

/** Validates a parsed config (`file` names it in errors and anchors the relative `data` path). */
export function parseExperimentConfig(value: unknown, file: string): ExperimentConfig {
  const fail: Fail = (field, expected, got) => {
    throw new LoraFuseError('INVALID_OPTION', `${file}: ${field} must be ${expected}; got ${JSON.stringify(got)}.`, { details: { config: file, field } });
  };
  const read = reader(file, fail);
  const root = read.object(
    value,
    '',
    ['name', 'data', 'languages', 'targets', 'pretrain', 'related', 'methods', 'seeds', 'ratioGrid'],
    ['description', 'quick'],
  );
  if (root.description !== undefined) read.string(root.description, 'description');
  const languages = read.list(root.languages, 'languages', read.name);
  const targets = read.list(
    root.targets,
    'targets',
    (t, field) => {
      const o = read.object(t, field, ['name', 'language', 'domains', 'sizes', 'rouge'], []);
      const language = read.name(o.language, `${field}.language`);
      if (!languages.includes(language)) fail(`${field}.language`, `one of languages (${languages.join(', ')})`, language);
      if (o.rouge !== 'words' && o.rouge !== 'chars') fail(`${field}.rouge`, '"words" or "chars"', o.rouge);
      return {
        name: read.name(o.name, `${field}.name`),
        language,
        domains: read.list(o.domains, `${field}.domains`, read.name),
        sizes: read.sizes(o.sizes, `${field}.sizes`),
        rouge: o.rouge as RougeTokenization,
      };
    },
    true,
  );
  const targetDomains = new Set(targets.flatMap((t) => t.domains));
  const notTarget = (d: string, field: string) => (targetDomains.has(d) ? fail(field, 'a domain that no target uses', d) : d);
  const pretrain = read.object(root.pretrain, 'pretrain', ['maxTexts'], ['domains']);
  const related = read.object(root.related, 'related', ['domains', 'maxPairs'], []);
  const methods = read.list(root.methods, 'methods', (m, field) =>
    METHODS.includes(m as Method) ? (m as Method) : fail(field, `one of ${METHODS.join(', ')}`, m),
  );
  return {
    name: read.name(root.name, 'name'),
    data: resolve(dirname(file), read.string(root.data, 'data')),
    languages,
    targets: unique(targets, (t) => t.name, 'targets', 'target names', fail),
    pretrain: {
      maxTexts: read.integer(pretrain.maxTexts, 'pretrain.maxTexts', 1),
      domains: pretrain.domains === undefined ? null : read.list(pretrain.domains, 'pretrain.domains', (d, f) => notTarget(read.name(d, f), f)),
    },
    related: {
      domains: read.list(related.domains, 'related.domains', (d, f) => notTarget(read.name(d, f), f)),
      maxPairs: read.integer(related.maxPairs, 'related.maxPairs', 1),
    },
    methods: METHODS.filter((m) => methods.includes(m)),
    seeds: read.list(root.seeds, 'seeds', (s, f) => read.integer(s, f, 0, MAX_SEED)),
    ratioGrid: read.ratios(root.ratioGrid, 'ratioGrid'),
    quick: root.quick === undefined ? null : quickConfig(root.quick, read),
  };
}

function quickConfig(value: unknown, read: Reader): QuickConfig {
  const o = read.object(value, 'quick', ['sizes', 'maxPretrainTexts', 'maxRelatedPairs', 'ratioGrid'], []);
  return {
    sizes: read.sizes(o.sizes, 'quick.sizes'),
    maxPretrainTexts: read.integer(o.maxPretrainTexts, 'quick.maxPretrainTexts', 1),
    maxRelatedPairs: read.integer(o.maxRelatedPairs, 'quick.maxRelatedPairs', 1),
    ratioGrid: read.ratios(o.ratioGrid, 'quick.ratioGrid'),
  };
}

function unique<T>(items: readonly T[], key: (item: T) => unknown, field: string, what: string, fail: Fail): readonly T[] {
  const keys = items.map(key);
  const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
  if (repeated !== undefined) fail(field, `a list without repeated ${what}`, repeated);
  return items;
}

type Reader = ReturnType<typeof reader>;

/** Typed readers of JSON values; each names `field` when the value does not fit. */
function reader(file: string, fail: Fail) {
  const read = {
    object(value: unknown, field: string, required: readonly string[], optional: readonly string[]): Record<string, unknown> {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field || '(the file)', 'an object', value);
      const o = value as Record<string, unknown>;
      const at = (key: string) => (field ? `${field}.${key}` : key);
      for (const key of Object.keys(o)) {
        if (!required.includes(key) && !optional.includes(key)) {
          throw new LoraFuseError('UNKNOWN_OPTION', `${file}: unknown field ${at(key)}; expected ${[...required, ...optional].map(at).join(', ')}.`, {
            details: { config: file, field: at(key) },
          });
        }
      }
      const missing = required.find((key) => o[key] === undefined);
      if (missing !== undefined)
        throw new LoraFuseError('INVALID_OPTION', `${file}: ${at(missing)} is missing.`, { details: { config: file, field: at(missing) } });
      return o;
    },
    string(value: unknown, field: string): string {
      return typeof value === 'string' && value !== '' ? value : fail(field, 'a non-empty string', value);
    },
    name(value: unknown, field: string): string {
      return typeof value === 'string' && NAME.test(value) ? value : fail(field, 'a name of letters, digits, ".", "_" and "-"', value);
    },
    integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
      return Number.isInteger(value) && (value as number) >= min && (value as number) <= max
        ? (value as number)
        : fail(field, `an integer from ${min} to ${max}`, value);
    },
    /** A non-empty list; its items must differ unless `repeats` (objects, checked by their caller). */
    list<T>(value: unknown, field: string, item: (value: unknown, field: string) => T, repeats = false): readonly T[] {
      if (!Array.isArray(value) || value.length === 0) fail(field, 'a non-empty list', value);
      const items = (value as unknown[]).map((v, i) => item(v, `${field}[${i}]`));
      return repeats ? items : unique(items, (x) => x, field, 'values', fail);
    },
    sizes(value: unknown, field: string): SplitSizes {
      const o = read.object(value, field, ['train', 'dev', 'test'], []);
      return { train: read.integer(o.train, `${field}.train`, 1), dev: read.integer(o.dev, `${field}.dev`, 1), test: read.integer(o.test, `${field}.test`, 1) };
    },
    ratios(value: unknown, field: string): readonly number[] {
      return read.list(value, field, (r, f) => (typeof r === 'number' && r > 0 && r < 1 ? r : fail(f, 'a pruning ratio between 0 and 1 (exclusive)', r)));
    },
  };
  return read;
}
