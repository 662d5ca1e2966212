import {
  CausalLM,
  describeAdapter,
  searchMergeWeights,
  type Folder,
  type LoraAdapter,
  type MergeWeightSearchResult,
  loadAdapter,
  LoraFuseError,
  type PluginRegistry,
  saveAdapter,
  type MajoritySignMethod,
  type MergeOptions,
  type MergerPlugin,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { jsonLine, table } from '../format.js';
import { useCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, loadPluginModules, parseSeed } from '../runtime.js';
import { DATA_OPTIONS, modelTokenizer, numberOption, promptFormat, readExamples } from './model-data.js';
import type { CliIO } from '../io.js';
import type { Command } from './types.js';

/** What `lorafuse merge --json` prints. */
interface MergeSummary {
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
  /** With `--model` and `--data`: the weight search (objective = loss + L1 penalty, mean loss per target token). */
  readonly search?: { objective: number; loss: number; evaluations: number };
}

const usage = (registry: PluginRegistry) => `Usage: lorafuse merge <adapter-dir>... --method <name> --out <dir> [options]

  <adapter-dir>...     PEFT adapter folders trained on the same base model
  --method <name>      one of: ${registry.names('merger').join(', ')}
  --weights w,...      one weight per adapter (negative subtracts); default all 1
  --density d          fraction of entries kept, in [0, 1] (ties, dare_*, magnitude_prune*)
  --rank r             rank of the result of the *svd methods (default: largest input rank)
  --majority-sign m    total (default) or frequency (ties, ties_svd, dare_ties, dare_ties_svd)
  --seed n             seed of the DARE drop masks and of the weight search (default 0)
  --model <dir>, --data <jsonl>
                       instead of --weights, search the weights on a few examples as LoraHub
                       does (use with --method lorahub): minimise the merged adapter's mean
                       loss on the data + 0.05 x mean |w|, w in [-1.5, 1.5], from w = 0
  --budget n           loss evaluations of the search (default 40)
  --template t | --chat [--system s] [--date-string d], --no-eos, --max-length n, --batch-size n
                       how --data is encoded and batched (as for lorafuse eval)
  --plugin <module>    a module exporting more mergers
  --out <dir>          folder to write the merged PEFT adapter to (files replaced atomically)
  --json               print a JSON summary instead of text
${FOLDER_USAGE}
`;

function number(values: Record<string, unknown>, key: string): number | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value))
    throw new LoraFuseError('CLI_USAGE', `--${key} must be a number, got ${JSON.stringify(raw)}.`);
  return value;
}

function weightsOf(raw: unknown): number[] | undefined {
  if (raw === undefined) return undefined;
  return String(raw)
    .split(',')
    .map((w) => {
      const value = Number(w);
      if (w.trim() === '' || !Number.isFinite(value))
        throw new LoraFuseError('CLI_USAGE', `--weights must be comma-separated numbers, got ${JSON.stringify(raw)}.`);
      return value;
    });
}

/** `lorafuse merge <adapter-dir>... --method m --out dir`: merges PEFT adapters into one. */
export const mergeCommand: Command = {
  name: 'merge',
  summary: "Merge PEFT adapters (cat, factored, or one of PEFT's combination types)",
  usage: usage(cliPlugins()),
  async run(argv, io) {
    const parsed = parseCommand('merge', argv, {
      method: { type: 'string' },
      weights: { type: 'string' },
      density: { type: 'string' },
      rank: { type: 'string' },
      'majority-sign': { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string' },
      data: { type: 'string' },
      budget: { type: 'string' },
      ...DATA_OPTIONS,
    });
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new LoraFuseError('CLI_USAGE', 'merge needs at least one adapter folder. See `lorafuse merge --help`.');
    if (typeof values.method !== 'string') throw new LoraFuseError('CLI_USAGE', 'merge needs --method. See `lorafuse merge --help`.');
    if (typeof values.out !== 'string') throw new LoraFuseError('CLI_USAGE', 'merge needs --out <dir>, the folder to write the merged adapter to.');
    if ((values.model === undefined) !== (values.data === undefined))
      throw new LoraFuseError('CLI_USAGE', 'merge: --model and --data go together (the weight search). See `lorafuse merge --help`.');
    if (values.model !== undefined && values.weights !== undefined)
      throw new LoraFuseError('CLI_USAGE', 'merge: give either --weights or --model/--data (which searches the weights), not both.');
    const sign = values['majority-sign'];
    if (sign !== undefined && sign !== 'total' && sign !== 'frequency') {
      throw new LoraFuseError('CLI_USAGE', `--majority-sign must be total or frequency, got ${JSON.stringify(sign)}.`);
    }
    const registry = cliPlugins(0, await loadPluginModules(values.plugin));
    const merger = registry.get('merger', values.method) as MergerPlugin;
    const seed = parseSeed(values.seed);
    const adapters = [];
    const open = folderOpener(io, parsed);
    for (const spec of positionals) adapters.push(await loadAdapter((await open(spec)).folder));
    const search = typeof values.model === 'string' ? await searchWeights(parsed, (await open(values.model)).folder, adapters, merger, seed, io) : undefined;
    const options: MergeOptions = {
      weights: search?.weights ?? weightsOf(values.weights),
      density: number(values, 'density'),
      rank: number(values, 'rank'),
      majoritySignMethod: sign,
      seed,
    };
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
      ...(search && { search: { objective: search.objective, loss: search.loss, evaluations: search.evaluations } }),
    };
    if (!values.quiet && !values.json && io.isTTY) io.err('\n');
    io.out(values.json ? jsonLine(summary) : render(summary));
    return 0;
  },
};

/** Runs the LoraHub weight search for `--model`/`--data` on the CLI's backend. */
async function searchWeights(
  parsed: ParsedCommand,
  modelFolder: Folder,
  adapters: readonly LoraAdapter[],
  merger: MergerPlugin,
  seed: number,
  io: CliIO,
): Promise<MergeWeightSearchResult> {
  const budget = numberOption('merge', parsed, 'budget', 40, { min: 1, integer: true });
  const runtime = await cliRuntime(cliPlugins(seed));
  try {
    const backend = await useCliBackend(runtime, parsed.values, io);
    const model = await CausalLM.load(backend, modelFolder);
    try {
      const tokenizer = await modelTokenizer(modelFolder, model);
      const examples = await readExamples('merge', parsed, parsed.values.data as string, tokenizer, model, await promptFormat('merge', parsed, modelFolder));
      const batchSize = numberOption('merge', parsed, 'batch-size', 8, { min: 1, integer: true });
      const quiet = parsed.values.quiet || parsed.values.json || !io.isTTY;
      return await searchMergeWeights(backend, model, adapters, examples, {
        merger,
        padId: tokenizer.pad,
        budget,
        seed,
        batchSize,
        onProgress: quiet ? undefined : ({ done, total, best }) => io.err(`\rsearching weights ${done}/${total}  best ${best.toFixed(4)}`),
      });
    } finally {
      model.dispose();
    }
  } finally {
    await runtime.dispose();
  }
}

function render(s: MergeSummary): string {
  return (
    `Merged ${s.inputs.length} adapters with ${s.method} into ${s.out}: r=${s.r}, ${s.parameters} parameters\n` +
    (s.search
      ? `weights ${s.options.weights.map((w) => w.toFixed(4)).join(', ')} from ${s.search.evaluations} evaluations: loss ${s.search.loss.toFixed(4)}, objective ${s.search.objective.toFixed(4)}\n`
      : '') +
    '\n' +
    table(
      ['module', 'r', 'scaling'],
      s.modules.map((m) => [m.name, m.r, m.scaling]),
    )
  );
}
