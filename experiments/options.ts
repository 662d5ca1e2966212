import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoraFuseError } from '@lorafuse/core';

/** The stages, in order; `--stage` runs one of them (the earlier ones must be cached). */
export const STAGES = ['pretrain', 'related', 'targets', 'report'] as const;
/** One stage of the harness. */
export type Stage = (typeof STAGES)[number];

/** Parsed command line of the harness. */
export interface ExperimentOptions {
  /** Folder holding `en.jsonl` and `ja.jsonl`. */
  readonly data: string;
  /** Target names to run (default all). */
  readonly targets: readonly string[] | undefined;
  readonly seeds: readonly number[];
  /** Stage to run alone; all when undefined. */
  readonly stage: Stage | undefined;
  readonly cache: string;
  /** Where results, tables and plots are written. */
  readonly out: string;
  readonly quick: boolean;
  /** Threads of the wasm backend. */
  readonly threads: number;
  readonly help: boolean;
}

/** The harness's usage text. */
export const USAGE = `npm run experiment -- [options]

  --data <dir>      corpus folder with en.jsonl and ja.jsonl (default ../shared/data/manpages)
  --target <name>   en-man7 or ja-man5-7; repeat or comma-separate (default both)
  --seeds <list>    comma-separated seeds (default 0,1,2)
  --stage <name>    run only pretrain, related, targets or report (earlier stages must be cached)
  --cache <dir>     stage cache (default .cache/experiments in the repository)
  --out <dir>       results folder (default docs/experiments; <cache>/quick-results with --quick)
  --quick           tiny smoke configuration (seconds)
  --threads <n>     threads of the wasm backend (default 1; results are identical for any count)
  --help            this text`;

/** Parses `argv` (the arguments after `--`); throws `CLI_USAGE` on a bad option. */
export function parseExperimentOptions(argv: readonly string[], root: string): ExperimentOptions {
  const values = parseValues(argv);
  const seeds = (values.seeds ?? '0,1,2').split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new LoraFuseError('CLI_USAGE', `--seeds must be comma-separated non-negative integers; got ${values.seeds}.`);
  const stage = values.stage as Stage | undefined;
  if (stage !== undefined && !STAGES.includes(stage)) throw new LoraFuseError('CLI_USAGE', `--stage must be one of ${STAGES.join(', ')}; got ${stage}.`);
  const quick = values.quick ?? false;
  const threads = Number(values.threads ?? '1');
  if (!Number.isInteger(threads) || threads < 1) throw new LoraFuseError('CLI_USAGE', `--threads must be a positive integer; got ${values.threads}.`);
  const cache = resolve(values.cache ?? resolve(root, '.cache/experiments'));
  return {
    data: resolve(values.data ?? resolve(root, '../shared/data/manpages')),
    targets: values.target?.flatMap((t) => t.split(',')),
    seeds,
    stage,
    cache,
    out: resolve(values.out ?? (quick ? resolve(cache, 'quick-results') : resolve(root, 'docs/experiments'))),
    quick,
    threads,
    help: values.help ?? false,
  };
}

function parseValues(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        data: { type: 'string' },
        target: { type: 'string', multiple: true },
        seeds: { type: 'string' },
        stage: { type: 'string' },
        cache: { type: 'string' },
        out: { type: 'string' },
        quick: { type: 'boolean' },
        threads: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (cause) {
    throw new LoraFuseError('CLI_USAGE', `${(cause as Error).message}\n\n${USAGE}`, { cause });
  }
}
