import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoraFuseError } from '@lorafuse/core';
import type { SimdBuild } from '@lorafuse/backend-wasm';

/** The stages, in order; `--stage` runs one of them (the earlier ones must be cached). */
export const STAGES = ['pretrain', 'related', 'targets', 'report'] as const;
/** One stage of the harness. */
export type Stage = (typeof STAGES)[number];

/** The config `npm run experiment` runs without `--config`: the manual-page corpus. */
export const DEFAULT_CONFIG = 'experiments/configs/manpages.json';

/** Parsed command line of the harness. */
export interface ExperimentOptions {
  /** The experiment config file (absolute). */
  readonly config: string;
  /** Corpus folder overriding the config's `data`. */
  readonly data: string | undefined;
  /** Target names to run (default all of the config's). */
  readonly targets: readonly string[] | undefined;
  /** Seeds overriding the config's. */
  readonly seeds: readonly number[] | undefined;
  /** Stage to run alone; all when undefined. */
  readonly stage: Stage | undefined;
  readonly cache: string;
  /** Where results, tables and plots are written; undefined: {@link defaultOut}. */
  readonly out: string | undefined;
  readonly quick: boolean;
  /** Threads of the wasm backend. */
  readonly threads: number;
  /** The wasm backend's build: `plain` SIMD128 (the default: the same on every engine) or `relaxed` (fused multiply-add). */
  readonly simd: SimdBuild;
  readonly help: boolean;
}

/** The harness's usage text. */
export const USAGE = `npm run experiment -- [options]

  --config <file>   experiment config (default ${DEFAULT_CONFIG}; docs/experiments.md)
  --data <dir>      corpus folder with <language>.jsonl files (default: the config's data)
  --target <name>   a target of the config; repeat or comma-separate (default all)
  --seeds <list>    comma-separated seeds (default: the config's)
  --stage <name>    run only pretrain, related, targets or report (earlier stages must be cached)
  --cache <dir>     stage cache (default .cache/experiments in the repository)
  --out <dir>       results folder (default docs/experiments for the default config,
                    <cache>/results-<config name> for another, <cache>/quick-results with --quick)
  --quick           the config's quick variant at a small training scale (about a minute)
  --threads <n>     threads of the wasm backend (default 1; results are identical for any count)
  --simd <build>    plain (default) or relaxed (fused multiply-add; other results; Node 22+)
  --help            this text`;

/** Parses `argv` (the arguments after `--`); throws `CLI_USAGE` on a bad option. */
export function parseExperimentOptions(argv: readonly string[], root: string): ExperimentOptions {
  const values = parseValues(argv);
  const seeds = values.seeds?.split(',').map(Number);
  if (seeds?.some((s) => !Number.isInteger(s) || s < 0))
    throw new LoraFuseError('CLI_USAGE', `--seeds must be comma-separated non-negative integers; got ${values.seeds}.`);
  const simd = (values.simd ?? 'plain') as SimdBuild;
  if (simd !== 'plain' && simd !== 'relaxed') throw new LoraFuseError('CLI_USAGE', `--simd must be plain or relaxed; got ${values.simd}.`);
  const stage = values.stage as Stage | undefined;
  if (stage !== undefined && !STAGES.includes(stage)) throw new LoraFuseError('CLI_USAGE', `--stage must be one of ${STAGES.join(', ')}; got ${stage}.`);
  const quick = values.quick ?? false;
  const threads = Number(values.threads ?? '1');
  if (!Number.isInteger(threads) || threads < 1) throw new LoraFuseError('CLI_USAGE', `--threads must be a positive integer; got ${values.threads}.`);
  const cache = resolve(values.cache ?? resolve(root, '.cache/experiments'));
  return {
    config: values.config === undefined ? resolve(root, DEFAULT_CONFIG) : resolve(values.config),
    data: values.data === undefined ? undefined : resolve(values.data),
    targets: values.target?.flatMap((t) => t.split(',')),
    seeds,
    stage,
    cache,
    out: values.out === undefined ? undefined : resolve(values.out),
    quick,
    threads,
    simd,
    help: values.help ?? false,
  };
}

/** Where a run writes its results without `--out`: see {@link USAGE}. */
export function defaultOut(options: ExperimentOptions, configName: string, root: string): string {
  if (options.quick) return resolve(options.cache, 'quick-results');
  if (options.config === resolve(root, DEFAULT_CONFIG)) return resolve(root, 'docs/experiments');
  return resolve(options.cache, `results-${configName}`);
}

function parseValues(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        target: { type: 'string', multiple: true },
        seeds: { type: 'string' },
        stage: { type: 'string' },
        cache: { type: 'string' },
        out: { type: 'string' },
        quick: { type: 'boolean' },
        threads: { type: 'string' },
        simd: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (cause) {
    throw new LoraFuseError('CLI_USAGE', `${(cause as Error).message}\n\n${USAGE}`, { cause });
  }
}
