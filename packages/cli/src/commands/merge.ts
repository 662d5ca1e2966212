import {
  describeAdapter,
  loadAdapter,
  LoraFuseError,
  PluginRegistry,
  saveAdapter,
  type MajoritySignMethod,
  type MergeOptions,
  type MergerPlugin,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand } from '../args.js';
import { jsonLine, table } from '../format.js';
import { cliPlugins, parseSeed } from '../runtime.js';
import type { Command } from './types.js';

/** What `lorafuse merge --json` prints. */
export interface MergeSummary {
  /** The merger used. */
  readonly method: string;
  /** The input adapter folders, in order. */
  readonly inputs: readonly string[];
  /** The folder written. */
  readonly out: string;
  /** The options the merger received. */
  readonly options: { weights: number[]; density?: number; rank?: number; majority_sign_method?: MajoritySignMethod; seed: number };
  /** The merged adapter's default rank and alpha. */
  readonly r: number;
  /** `lora_alpha` of the merged adapter. */
  readonly lora_alpha: number;
  /** Per module: name, rank, scaling. */
  readonly modules: ReadonlyArray<{ name: string; r: number; scaling: number }>;
  /** Number of LoRA parameters written. */
  readonly parameters: number;
}

const usage = (registry: PluginRegistry) => `Usage: lorafuse merge <adapter-dir>... --method <name> --out <dir> [options]

  <adapter-dir>...     PEFT adapter folders trained on the same base model
  --method <name>      one of: ${registry.names('merger').join(', ')}
  --weights w,...      one weight per adapter (negative subtracts); default all 1
  --density d          fraction of entries kept, in [0, 1] (ties, dare_*, magnitude_prune*)
  --rank r             rank of the result of the *svd methods (default: largest input rank)
  --majority-sign m    total (default) or frequency (ties, ties_svd, dare_ties, dare_ties_svd)
  --seed n             seed of the DARE drop masks (default 0)
  --out <dir>          folder to write the merged PEFT adapter to (files replaced atomically)
  --json               print a JSON summary instead of text
`;

function number(values: Record<string, unknown>, key: string): number | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value)) throw new LoraFuseError('CLI_USAGE', `--${key} must be a number, got ${JSON.stringify(raw)}.`);
  return value;
}

function weightsOf(raw: unknown): number[] | undefined {
  if (raw === undefined) return undefined;
  return String(raw)
    .split(',')
    .map((w) => {
      const value = Number(w);
      if (w.trim() === '' || !Number.isFinite(value)) throw new LoraFuseError('CLI_USAGE', `--weights must be comma-separated numbers, got ${JSON.stringify(raw)}.`);
      return value;
    });
}

/** `lorafuse merge <adapter-dir>... --method m --out dir`: merges PEFT adapters into one. */
export const mergeCommand: Command = {
  name: 'merge',
  summary: 'Merge PEFT adapters (cat, factored, or one of PEFT\'s combination types)',
  usage: usage(cliPlugins()),
  async run(argv, io) {
    const { values, positionals } = parseCommand('merge', argv, {
      method: { type: 'string' },
      weights: { type: 'string' },
      density: { type: 'string' },
      rank: { type: 'string' },
      'majority-sign': { type: 'string' },
      out: { type: 'string' },
    });
    if (positionals.length === 0) throw new LoraFuseError('CLI_USAGE', 'merge needs at least one adapter folder. See `lorafuse merge --help`.');
    if (typeof values.method !== 'string') throw new LoraFuseError('CLI_USAGE', 'merge needs --method. See `lorafuse merge --help`.');
    if (typeof values.out !== 'string') throw new LoraFuseError('CLI_USAGE', 'merge needs --out <dir>, the folder to write the merged adapter to.');
    const sign = values['majority-sign'];
    if (sign !== undefined && sign !== 'total' && sign !== 'frequency') {
      throw new LoraFuseError('CLI_USAGE', `--majority-sign must be total or frequency, got ${JSON.stringify(sign)}.`);
    }
    const registry = cliPlugins();
    const merger = registry.get('merger', values.method) as MergerPlugin;
    const seed = parseSeed(values.seed);
    const options: MergeOptions = {
      weights: weightsOf(values.weights),
      density: number(values, 'density'),
      rank: number(values, 'rank'),
      majoritySignMethod: sign,
      seed,
    };
    const adapters = [];
    for (const dir of positionals) adapters.push(await loadAdapter(nodeFolder(dir)));
    const merged = await merger.merge(adapters, options, {
      onProgress: values.quiet || values.json || !io.isTTY ? undefined : ({ done, total }) => io.err(`\rmerging ${done}/${total} modules`),
    });
    await saveAdapter(nodeFolder(values.out), merged);
    const description = describeAdapter(merged);
    const summary: MergeSummary = {
      method: merger.name,
      inputs: positionals,
      out: values.out,
      options: {
        weights: options.weights ? [...options.weights] : adapters.map(() => 1),
        ...(options.density !== undefined && { density: options.density }),
        ...(options.rank !== undefined && { rank: options.rank }),
        ...(sign !== undefined && { majority_sign_method: sign }),
        seed,
      },
      r: description.r,
      lora_alpha: description.lora_alpha,
      modules: description.modules.map((m) => ({ name: m.name, r: m.r, scaling: m.scaling })),
      parameters: description.parameters,
    };
    if (!values.quiet && !values.json && io.isTTY) io.err('\n');
    io.out(values.json ? jsonLine(summary) : render(summary));
    return 0;
  },
};

function render(s: MergeSummary): string {
  return (
    `Merged ${s.inputs.length} adapters with ${s.method} into ${s.out}: r=${s.r}, ${s.parameters} parameters\n\n` +
    table(
      ['module', 'r', 'scaling'],
      s.modules.map((m) => [m.name, m.r, m.scaling]),
    )
  );
}
