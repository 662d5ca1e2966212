import { createRequire } from 'node:module';
import {
  ADAPT_PROVENANCE_FILE,
  CausalLM,
  LoraFuseError,
  PUBLISHED_ADAPT_SETTINGS,
  adaptiveMerge,
  buildAdaptProvenance,
  CHAT_TEMPLATE_FILE,
  GENERATION_CONFIG_FILE,
  HF_TOKENIZER_CONFIG_FILE,
  HF_TOKENIZER_FILE,
  loadAdapter,
  mergeIntoBase,
  readJsonl,
  searchPruneRatio,
  openModelFolder,
  readFile,
  saveAdapter,
  saveModelFolder,
  type AdaptEvent,
  type AdaptiveMergeResult,
  type FailedPruneRatio,
  type Folder,
  type LoraAdapter,
  type ModuleSparsity,
  type PruneRatioCandidate,
  type SchedulePlugin,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { cubicSchedule, everyNStepsSchedule, linearSchedule } from '@lorafuse/plugins';
import { parseCommand, type ParsedCommand } from '../args.js';
import { FOLDER_USAGE, folderOpener, hashInputs } from '../folders.js';
import { jsonLine } from '../format.js';
import type { CliIO } from '../io.js';
import { useCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, loadPluginModules, parseSeed } from '../runtime.js';
import { DATA_OPTIONS, DATA_USAGE, maxLengthOption, modelTokenizer, numberOption, promptFormat, readExamples, required } from './model-data.js';
import type { Command } from './types.js';

/** What `lorafuse adapt --json` prints. */
interface AdaptSummary {
  /** The folder written. */
  readonly out: string;
  /** Optimizer steps taken. */
  readonly steps: number;
  /** Training loss of the last step, and the last validation loss (`null` without `--val`). */
  readonly loss: { readonly train: number | null; readonly val: number | null };
  /** Per module, after the last pruning step. */
  readonly sparsity: readonly ModuleSparsity[];
  /** With a grid of `--prune-ratio` values: each ratio's dev ROUGE, the one chosen, and the ratios whose run failed. */
  readonly grid?: { readonly chosen: number; readonly candidates: readonly PruneRatioCandidate[]; readonly failed?: readonly FailedPruneRatio[] };
}

const p = PUBLISHED_ADAPT_SETTINGS;

/** `lorafuse adapt --model dir --target dir [--related dir…] --train file --out dir`: the method's adaptive merge. */
export const adaptCommand: Command = {
  name: 'adapt',
  summary: 'Adaptive merge: train target + related adapters together while pruning, write their cat merge',
  usage: `Usage: lorafuse adapt --model <dir> --target <adapter-dir> [--related <adapter-dir>...]
                      --train <jsonl> [--val <jsonl>] --out <dir>
                      [--prune-ratio r] [--metric m] [--schedule s [--ramp-steps n] [--every n]] [--epochs n] [--lr x]
                      [--epoch-decay f] [--accumulation k] [--template t | --chat [--system s] [--date-string d]]
                      [--no-eos] [--max-length n] [--batch-size n] [--merged-out <dir>] [--plugin <module>]
                      [--backend name] [--seed n] [--quiet] [--json]

  --model         Hugging Face model folder (Llama family) the adapters were trained on
  --target        PEFT adapter of the target task
  --related       PEFT adapter of a related task (repeat for several)
  --train, --val  JSONL data of the target task ({"source","summary"} or {"text"})
  --out           folder for ONE PEFT adapter: the exact cat merge of the trained, pruned
                  factors (rank = sum of ranks), plus ${ADAPT_PROVENANCE_FILE} (inputs with SHA-256, options,
                  versions, final losses, per-module sparsity); files replaced atomically
  --prune-ratio   share of each factor's entries set to zero after every step, in [0, 1] (default 0.5);
                  a comma-separated grid (up to 8, e.g. 0.1,0.3,0.5,0.7) runs once per ratio and keeps
                  the one whose greedy summaries of the --val pairs score the best ROUGE-L (the method's
                  choice on a dev set; needs --val)
  --max-new-tokens
                  longest generated dev summary when choosing from a grid (default 64)
  --metric        importance metric: ${p.metric} (default, the method's), or another registered one
                  (${cliPlugins().names('importance').join(', ')})
  --schedule      pruning schedule: constant (default, the method's: the full ratio after every
                  step), linear or cubic (a ramp from 0 to the ratio over --ramp-steps optimizer
                  steps, default the whole run), every-n-steps (--every n, default 10), once (the
                  first step only), or a schedule plugin's name
  --epochs        passes over the data (default ${p.epochs})
  --lr            AdamW learning rate (default ${p.lr}), times --epoch-decay^epoch (default ${p.epochDecay})
  --accumulation  micro-batches per optimizer step (default ${p.accumulation})
${DATA_USAGE.replace('(default 8)', `(default ${p.batchSize})`)}
  --merged-out    also write the base model with the result folded into its weights
                  (W0 + s·B·A, in the base's dtype): a Hugging Face folder that needs no adapter
  --plugin        a module exporting more importance metrics (see docs/plugins.md)
  --quiet         no per-step lines
  --json          print a summary {"out","steps","loss","sparsity"} instead of per-step lines
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('adapt', argv, {
      model: { type: 'string' },
      target: { type: 'string' },
      related: { type: 'string', multiple: true },
      train: { type: 'string' },
      val: { type: 'string' },
      out: { type: 'string' },
      'prune-ratio': { type: 'string' },
      metric: { type: 'string' },
      schedule: { type: 'string' },
      'ramp-steps': { type: 'string' },
      every: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      'epoch-decay': { type: 'string' },
      accumulation: { type: 'string' },
      'merged-out': { type: 'string' },
      'max-new-tokens': { type: 'string' },
      ...DATA_OPTIONS,
    });
    const modelDir = required('adapt', parsed, 'model');
    const targetDir = required('adapt', parsed, 'target');
    const trainPath = required('adapt', parsed, 'train');
    const out = required('adapt', parsed, 'out');
    const relatedDirs = (parsed.values.related as string[] | undefined) ?? [];
    const valPath = typeof parsed.values.val === 'string' ? parsed.values.val : undefined;
    const seed = parseSeed(parsed.values.seed);
    const plugins = cliPlugins(seed, await loadPluginModules(parsed.values.plugin));
    const metric = typeof parsed.values.metric === 'string' ? parsed.values.metric : p.metric;
    if (!plugins.names('importance').includes(metric)) {
      throw new LoraFuseError('CLI_USAGE', `adapt: --metric must be one of ${plugins.names('importance').join(', ')}, got ${metric}.`);
    }
    const scheduleName = typeof parsed.values.schedule === 'string' ? parsed.values.schedule : 'constant';
    if (!plugins.names('schedule').includes(scheduleName)) {
      throw new LoraFuseError('CLI_USAGE', `adapt: --schedule must be one of ${plugins.names('schedule').join(', ')}, got ${scheduleName}.`);
    }
    const int = (name: string, fallback: number) => numberOption('adapt', parsed, name, fallback, { min: 1, integer: true });
    const ratios = ratioGrid(parsed);
    if (ratios.length > 1 && valPath === undefined)
      throw new LoraFuseError('CLI_USAGE', 'adapt: a grid of --prune-ratio values needs --val <jsonl>, the dev pairs that choose among them.');
    const options = {
      ratio: ratios[0],
      metric,
      grouping: p.grouping,
      schedule: scheduleName,
      refresh: p.refresh,
      epochs: int('epochs', p.epochs),
      lr: numberOption('adapt', parsed, 'lr', p.lr, { min: Number.MIN_VALUE }),
      epochDecay: numberOption('adapt', parsed, 'epoch-decay', p.epochDecay),
      accumulation: int('accumulation', p.accumulation),
      batchSize: int('batch-size', p.batchSize),
      weightDecay: p.weightDecay,
      appendEos: parsed.values['no-eos'] !== true,
      chat: parsed.values.chat === true,
      ...(typeof parsed.values.template === 'string' ? { template: parsed.values.template } : {}),
      ...(typeof parsed.values.system === 'string' ? { system: parsed.values.system } : {}),
      ...(typeof parsed.values['date-string'] === 'string' ? { dateString: parsed.values['date-string'] } : {}),
    };
    const open = folderOpener(io, parsed);
    const target = await open(targetDir);
    const related = [];
    for (const spec of relatedDirs) related.push(await open(spec));
    const hosts: LoraAdapter[] = [];
    for (const input of [target, ...related]) hosts.push(await loadAdapter(input.folder));
    const base = await open(modelDir);
    const runtime = await cliRuntime(plugins);
    let result: AdaptiveMergeResult;
    let grid: AdaptSummary['grid'];
    try {
      const backend = await useCliBackend(runtime, parsed.values, io);
      const model = await CausalLM.load(backend, base.folder);
      const tokenizer = await modelTokenizer(base.folder, model);
      const format = await promptFormat('adapt', parsed, base.folder);
      const examples = await readExamples('adapt', parsed, trainPath, tokenizer, model, format);
      const validation = valPath === undefined ? undefined : await readExamples('adapt', parsed, valPath, tokenizer, model, format);
      const { epochs, lr, epochDecay, accumulation, batchSize, weightDecay, grouping, refresh } = options;
      const run = {
        adapters: hosts,
        labels: [targetDir, ...relatedDirs],
        train: examples,
        validation,
        padId: tokenizer.pad,
        plugins,
        seed,
        metric,
        grouping,
        refresh,
        schedule: scheduleFor(parsed, scheduleName, examples.length, options),
        epochs,
        lr,
        epochDecay,
        accumulation,
        batchSize,
        weightDecay,
      };
      const report = parsed.values.json || parsed.values.quiet ? undefined : stepReporter(io);
      if (ratios.length > 1) {
        // The method's ratio choice: one run per ratio, kept by dev ROUGE-L.
        const dev = (await readJsonl(await fileSource(valPath!))).filter((r) => r.kind === 'pair');
        const found = await searchPruneRatio(backend, model, {
          ...run,
          ratios,
          dev,
          tokenizer,
          maxLength: maxLengthOption('adapt', parsed, model),
          ...format,
          maxNewTokens: numberOption('adapt', parsed, 'max-new-tokens', 64, { min: 1, integer: true }),
          onProgress: (event, ratio) => {
            if (report && event.type === 'step' && event.step === 1) io.err(`prune ratio ${ratio}:\n`);
            report?.(event);
          },
        });
        for (const f of found.failed) io.err(`prune ratio ${f.ratio} failed and is left out: ${f.message} [${f.code}]\n`);
        options.ratio = found.ratio;
        grid = { chosen: found.ratio, candidates: found.candidates, ...(found.failed.length > 0 ? { failed: found.failed } : {}) };
        result = found.best;
      } else {
        result = await adaptiveMerge(backend, model, { ...run, ratio: options.ratio, ...(report ? { onProgress: report } : {}) });
      }
    } finally {
      await runtime.dispose();
    }
    const merged = result.merged;
    const folder = nodeFolder(out);
    await saveAdapter(folder, merged);
    const inputs = [
      ...(await hashInputs('model', [base])),
      ...(await hashInputs('target', [target])),
      ...(await hashInputs('related', related)),
      ...(await hashInputs('train', [trainPath])),
      ...(await hashInputs('val', valPath === undefined ? [] : [valPath])),
    ];
    const provenance = buildAdaptProvenance({
      inputs,
      options: grid ? { ...options, ratioGrid: grid } : options,
      seed,
      versions: versions(),
      steps: result.steps,
      trainLoss: result.trainLoss,
      valLoss: result.valLoss,
      tensors: result.tensors,
    });
    await folder.write(ADAPT_PROVENANCE_FILE, [new TextEncoder().encode(JSON.stringify(provenance, null, 2) + '\n')]);
    if (typeof parsed.values['merged-out'] === 'string') await writeMergedModel(base.folder, merged, parsed.values['merged-out']);
    const summary: AdaptSummary = { out, steps: result.steps, loss: provenance.loss, sparsity: provenance.sparsity, ...(grid && { grid }) };
    if (parsed.values.json) io.out(jsonLine(summary));
    else if (!parsed.values.quiet)
      io.err(`wrote ${out}: ${result.steps} steps, rank ${merged.modules[0]?.a.shape[0] ?? 0}, loss ${result.trainLoss?.toFixed(4) ?? '-'}\n`);
    return 0;
  },
};

/** The files of a model folder that say how to tokenize and prompt it, carried over to the merged model. */
const TOKENIZER_FILES = [HF_TOKENIZER_FILE, HF_TOKENIZER_CONFIG_FILE, CHAT_TEMPLATE_FILE, GENERATION_CONFIG_FILE, 'special_tokens_map.json'];

/** The base model with `adapter` folded in, as a Hugging Face folder at `out` (plus the base's tokenizer, chat template and generation config). */
async function writeMergedModel(source: Folder, adapter: LoraAdapter, out: string): Promise<void> {
  const checkpoint = await openModelFolder(source);
  const target = nodeFolder(out);
  await saveModelFolder(target, checkpoint.config, await mergeIntoBase(checkpoint, [adapter]));
  for (const file of TOKENIZER_FILES) if (await source.exists(file)) await target.write(file, [await readFile(source, file)]);
}

/** `--prune-ratio`: one ratio, or a comma-separated grid of up to 8, each in [0, 1] (default 0.5). */
function ratioGrid(parsed: ParsedCommand): number[] {
  const raw = parsed.values['prune-ratio'];
  if (raw === undefined) return [0.5];
  const ratios = String(raw)
    .split(',')
    .map((w) => (w.trim() === '' ? NaN : Number(w)));
  if (ratios.length > 8 || !ratios.every((r) => r >= 0 && r <= 1)) {
    throw new LoraFuseError('CLI_USAGE', `adapt: --prune-ratio must be a number in [0, 1], or up to 8 of them separated by commas; got ${String(raw)}.`);
  }
  return ratios;
}

/**
 * The schedule plugin for `--schedule`: the ramps and every-n-steps built
 * with this run's `--ramp-steps`/`--every` (a ramp defaults to the run's
 * optimizer steps), any other name resolved in the registry.
 */
function scheduleFor(
  parsed: ParsedCommand,
  name: string,
  examples: number,
  o: { epochs: number; batchSize: number; accumulation: number },
): SchedulePlugin | string {
  const runSteps = o.epochs * Math.ceil(Math.ceil(examples / o.batchSize) / o.accumulation);
  const steps = numberOption('adapt', parsed, 'ramp-steps', runSteps, { min: 0, integer: true });
  if (name === 'linear') return linearSchedule({ steps });
  if (name === 'cubic') return cubicSchedule({ steps });
  if (name === 'every-n-steps') return everyNStepsSchedule({ every: numberOption('adapt', parsed, 'every', 10, { min: 1, integer: true }) });
  return name;
}

/** One stderr line per step, printed after its pruning so it can show the mean sparsity. */
function stepReporter(io: CliIO): (event: AdaptEvent) => void {
  let last: { loss: number; lr: number } | undefined;
  return (event) => {
    if (event.type === 'step') last = event;
    else if (event.type === 'prune' && last) {
      const mean = event.tensors.reduce((s, t) => s + t.sparsity, 0) / Math.max(1, event.tensors.length);
      io.err(`step ${event.step}  epoch ${event.epoch}  loss ${last.loss.toFixed(4)}  lr ${last.lr.toExponential(2)}  sparsity ${mean.toFixed(3)}\n`);
    } else if (event.type === 'eval') io.err(`epoch ${event.epoch}  validation loss ${event.loss.toFixed(4)}\n`);
  };
}

/** Versions of the CLI and core packages as installed next to this module. */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const read = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return { '@lorafuse/core': read('@lorafuse/core'), '@lorafuse/cli': read('@lorafuse/cli') };
}
