import {
  ADAPT_PROVENANCE_FILE,
  CausalLM,
  LoraFuseError,
  PUBLISHED_ADAPT_SETTINGS,
  adaptiveMerge,
  buildAdaptProvenance,
  checkAdaptiveMerge,
  isLoraFuseError,
  loadAdapter,
  openModelFolder,
  readJsonl,
  searchPruneRatio,
  type AdaptEvent,
  type AdaptiveMergeResult,
  type LoraAdapter,
  type ProvenanceFile,
} from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { useCliBackend } from '../backend-choice.js';
import { FOLDER_USAGE, folderOpener, hashInputs, type InputFolder } from '../folders.js';
import { describePeaks, jsonLine } from '../format.js';
import { interruptSignal } from '../interrupt.js';
import { cliPlugins, cliRuntime, loadPluginModules, parseSeed } from '../runtime.js';
import { versions } from '../versions.js';
import { AdaptCheckpoint } from './adapt-checkpoint.js';
import { ADAPT_FLAGS, parseAdaptOptions, ratioGrid, scheduleFor, withAdapterDropout } from './adapt-options.js';
import { writeAdaptOutput, writeMergedModel } from './adapt-output.js';
import { checkOutputsApart, type FlagPath } from './adapt-paths.js';
import { reportFailedRatios, stepReporter, type AdaptGrid, type AdaptSummary } from './adapt-report.js';
import { budgetOf } from './plan.js';
import {
  BASE_DTYPE_USAGE,
  baseDtypeOf,
  CHECKPOINTING_USAGE,
  checkpointingOf,
  DATA_USAGE,
  maxLengthOption,
  modelTokenizer,
  numberOption,
  promptFormat,
  readExamples,
  required,
} from './model-data.js';
import type { Command } from './types.js';

const p = PUBLISHED_ADAPT_SETTINGS;

/** A string flag's value, or undefined. */
const flag = (parsed: ParsedCommand, name: string) => (typeof parsed.values[name] === 'string' ? (parsed.values[name] as string) : undefined);

/** `lorafuse adapt --model dir --target dir [--related dir…] --train file --out dir`: the method's adaptive merge. */
export const adaptCommand: Command = {
  name: 'adapt',
  summary: 'Adaptive merge: train target + related adapters together while pruning, write their cat merge',
  usage: `Usage: lorafuse adapt --model <dir> --target <adapter-dir> [--related <adapter-dir>...]
                      --train <jsonl> [--val <jsonl>] --out <dir>
                      [--prune-ratio r] [--metric m] [--schedule s [--ramp-steps n] [--every n]]
                      [--norm-source dataset|running] [--refresh step|epoch] [--masks regrow|fixed]
                      [--pruned-value zero|initial] [--lora-dropout p] [--epochs n] [--lr x]
                      [--epoch-decay f] [--accumulation k] [--template t | --chat [--system s] [--date-string d]]
                      [--no-eos] [--max-length n] [--batch-size n] [--checkpoint <dir> [--checkpoint-every n] [--resume]]
                      [--merged-out <dir>] [--memory-budget bytes] [--base-dtype d] [--checkpointing c] [--plugin <module>] [--backend name] [--seed n] [--quiet] [--json]

  --model         Hugging Face model folder (Llama family) the adapters were trained on
  --target        PEFT adapter of the target task
  --related       PEFT adapter of a related task (repeat for several); adapters on other modules
                  merge on the union of modules (a module an adapter lacks takes nothing from it)
  --train, --val  JSONL data of the target task ({"source","summary"} or {"text"})
  --out           folder for ONE PEFT adapter: the exact cat merge of the trained, pruned
                  factors (rank = sum of ranks), plus ${ADAPT_PROVENANCE_FILE} (inputs with SHA-256, options,
                  versions, final losses, per-module sparsity); files replaced atomically; it may not
                  be, or lie inside, an input folder
  --prune-ratio   share of each factor's entries set to zero after every step, in [0, 1] (default 0.5);
                  a comma-separated grid (up to 8, e.g. 0.1,0.3,0.5,0.7) runs once per ratio and keeps
                  the one whose greedy summaries of the --val pairs score the best ROUGE-L (the method's
                  choice on a dev set; needs --val); a ratio whose run fails is reported and left out
  --max-new-tokens
                  longest generated dev summary when choosing from a grid (default 64)
  --metric        importance metric: ${p.metric} (default, the method's), or another registered one
                  (${cliPlugins().names('importance').join(', ')})
  --schedule      pruning schedule: constant (default, the method's: the full ratio after every
                  step), linear or cubic (a ramp from 0 to the ratio over --ramp-steps optimizer
                  steps, default the whole run), every-n-steps (--every n, default 10), once (the
                  first step only), or a schedule plugin's name
  --norm-source   where the activation norms of lora and wanda come from: dataset (default, the
                  method's: the training set run through the model, as many extra forward passes
                  as examples at each refresh) or running (summed by the training passes
                  themselves over the last epoch's steps: no extra passes, norms that lag the
                  adapters by up to an epoch)
  --refresh       with dataset norms: after every step (default, the method's) or at each epoch's
                  first step (one extra pass over the data per epoch)
  --masks         regrow (default, the method's: every step re-scores every entry, so pruned ones
                  may come back) or fixed (an entry once pruned stays zero, its AdamW moments reset)
  --pruned-value  pruned entries become zero (default, the method's) or their initial value
  --lora-dropout  dropout on the LoRA input in training, as PEFT applies it, in [0, 1) (default
                  each adapter's lora_dropout)
  --epochs        passes over the data (default ${p.epochs})
  --lr            AdamW learning rate (default ${p.lr}), times --epoch-decay^epoch (default ${p.epochDecay})
  --accumulation  micro-batches per optimizer step (default ${p.accumulation})
${DATA_USAGE.replace('(default 8)', `(default ${p.batchSize})`)}
${BASE_DTYPE_USAGE}
${CHECKPOINTING_USAGE}
  --checkpoint    folder for the run's state: the trainer's (factors, AdamW, pruning state) at each
                  epoch's end, every --checkpoint-every steps and on Ctrl-C; with a grid also each
                  finished ratio's scores and the best run so far. A run without --resume needs a
                  folder with no checkpoint in it
  --checkpoint-every
                  also save the trainer's state every n optimizer steps (default: at each epoch's end)
  --resume        continue the run in --checkpoint (same inputs and options; a folder with no
                  checkpoint yet starts from the beginning); the files written equal an
                  uninterrupted run's on the same backend, byte for byte
  --merged-out    also write the base model with the result folded into its weights
                  (W0 + s·B·A, in the base's dtype) and a copy of every other file of the base
                  folder (tokenizer, generation and chat-template files): a Hugging Face folder
                  that needs no adapter
  --memory-budget cap the backend's memory below its own limit (bytes, or with KiB, MiB, GiB): the run
                  is planned (lorafuse plan) and refused before its first step when it would not fit
  --plugin        a module exporting more importance metrics (see docs/plugins.md)
  --quiet         no per-step lines
  --json          print a summary {"out","steps","loss","sparsity","memory","tokensPerSecond"} (memory: the backend's
                  peaks, wasm "bytesInUse" and "top", WebGPU "bytesInUse" and "bufferBytes") instead of per-step lines
${FOLDER_USAGE}
  Checked before any step, reading no model weight: that every adapter fits the model
  (ADAPTER_MODEL_MISMATCH names it), that the adapters merge (MERGE_INCOMPATIBLE), and that no
  output folder overlaps an input (OUTPUT_OVERLAPS_INPUT). Ctrl-C stops after the current step
  (exit status 130); a second Ctrl-C stops at once.
`,
  async run(argv, io) {
    const parsed = parseCommand('adapt', argv, ADAPT_FLAGS);
    const modelDir = required('adapt', parsed, 'model');
    const targetDir = required('adapt', parsed, 'target');
    const trainPath = required('adapt', parsed, 'train');
    const out = required('adapt', parsed, 'out');
    const relatedDirs = (parsed.values.related as string[] | undefined) ?? [];
    const valPath = flag(parsed, 'val');
    const mergedOut = flag(parsed, 'merged-out');
    const checkpointDir = flag(parsed, 'checkpoint');
    const resume = parsed.values.resume === true;
    if ((resume || parsed.values['checkpoint-every'] !== undefined) && checkpointDir === undefined)
      throw new LoraFuseError('CLI_USAGE', 'adapt: --resume and --checkpoint-every need --checkpoint <dir>. See `lorafuse adapt --help`.');
    const everySteps =
      parsed.values['checkpoint-every'] === undefined ? undefined : numberOption('adapt', parsed, 'checkpoint-every', 1, { min: 1, integer: true });
    const seed = parseSeed(parsed.values.seed);
    const plugins = cliPlugins(seed, await loadPluginModules(parsed.values.plugin));
    const flagOptions = parseAdaptOptions(parsed, plugins);
    const ratios = ratioGrid(parsed);
    if (ratios.length > 1 && valPath === undefined)
      throw new LoraFuseError('CLI_USAGE', 'adapt: a grid of --prune-ratio values needs --val <jsonl>, the dev pairs that choose among them.');
    const labels = [targetDir, ...relatedDirs];
    const open = folderOpener(io, parsed);
    const baseInput = await open(modelDir);
    const adapterInputs: InputFolder[] = [];
    for (const spec of labels) adapterInputs.push(await open(spec));
    // Only folders on disk can be overwritten; a Hub input lives in the cache.
    const onDisk = (flag: string, input: InputFolder): FlagPath[] => (input.dir === undefined ? [] : [{ flag, path: input.dir }]);
    checkOutputsApart(
      [
        { flag: '--out', path: out },
        ...(mergedOut === undefined ? [] : [{ flag: '--merged-out', path: mergedOut }]),
        ...(checkpointDir === undefined ? [] : [{ flag: '--checkpoint', path: checkpointDir }]),
      ],
      [...onDisk('--model', baseInput), ...adapterInputs.flatMap((input, i) => onDisk(i === 0 ? '--target' : '--related', input))],
    );

    // Everything that can be wrong with the inputs is found before any weight is read or any file written.
    const hosts: LoraAdapter[] = [];
    for (const input of adapterInputs) hosts.push(await loadAdapter(input.folder));
    const options = withAdapterDropout(flagOptions, hosts);
    const base = await openModelFolder(baseInput.folder);
    checkAdaptiveMerge(base.config, hosts, labels);
    const inputs: ProvenanceFile[] = [
      ...(await hashInputs('model', [baseInput])),
      ...(await hashInputs('target', adapterInputs.slice(0, 1))),
      ...(await hashInputs('related', adapterInputs.slice(1))),
      ...(await hashInputs('train', [trainPath])),
      ...(await hashInputs('val', valPath === undefined ? [] : [valPath])),
    ];
    const saved =
      checkpointDir === undefined
        ? undefined
        : await AdaptCheckpoint.open(checkpointDir, { inputs, options: runIdentity(parsed, options, ratios), seed }, { resume, everySteps }, io);

    const interrupt = interruptSignal();
    const runtime = await cliRuntime(plugins);
    let result: AdaptiveMergeResult;
    let grid: AdaptGrid | undefined;
    const rates: number[] = [];
    try {
      const backend = await useCliBackend(runtime, parsed.values, io);
      const model = await CausalLM.load(backend, base, { signal: interrupt.signal, ...baseDtypeOf('adapt', parsed) });
      const tokenizer = await modelTokenizer(baseInput.folder, model);
      const format = await promptFormat('adapt', parsed, baseInput.folder);
      const examples = await readExamples('adapt', parsed, trainPath, tokenizer, model, format);
      const validation = valPath === undefined ? undefined : await readExamples('adapt', parsed, valPath, tokenizer, model, format);
      const run = {
        ...flagOptions,
        adapters: hosts,
        labels,
        train: examples,
        validation,
        padId: tokenizer.pad,
        plugins,
        seed,
        schedule: scheduleFor(parsed, flagOptions, examples.length),
        signal: interrupt.signal,
        ...budgetOf(parsed),
        ...checkpointingOf('adapt', parsed),
      };
      const lines = parsed.values.json || parsed.values.quiet ? undefined : stepReporter(io);
      // Each step's tokens per second, for the summary; then the per-step lines.
      const report = (event: AdaptEvent, ratio?: number) => {
        if (event.type === 'step') rates.push(event.tokensPerSecond);
        lines?.(event, ratio);
      };
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
          ...(saved && {
            progress: await saved.gridProgress(),
            candidateCheckpoint: (index: number) => saved.candidate(index),
            onCandidate: (progress) => saved.saveGridProgress(progress),
          }),
          onProgress: report,
        });
        reportFailedRatios(io, found.failed);
        grid = { chosen: found.ratio, candidates: found.candidates, ...(found.failed.length > 0 ? { failed: found.failed } : {}) };
        result = found.best;
      } else {
        result = await adaptiveMerge(backend, model, { ...run, ...(await saved?.run()), onProgress: report });
      }
    } catch (error) {
      if (!isLoraFuseError(error, 'ABORTED')) throw error;
      const where = checkpointDir
        ? `${checkpointDir} holds the last completed step: run the same command with --resume to continue.`
        : 'nothing was written (with --checkpoint <dir> an interrupted run can be resumed).';
      throw new LoraFuseError('ABORTED', `adapt was interrupted; ${where}`, { cause: error });
    } finally {
      interrupt.dispose();
      await runtime.dispose();
    }
    const provenance = buildAdaptProvenance({
      inputs,
      options: grid ? { ...options, ratio: grid.chosen, ratioGrid: grid } : options,
      seed,
      versions: versions(),
      steps: result.steps,
      trainLoss: result.trainLoss,
      valLoss: result.valLoss,
      tensors: result.tensors,
    });
    await writeAdaptOutput(out, result.merged, provenance);
    if (mergedOut !== undefined) await writeMergedModel(base, baseInput, result.merged, mergedOut);
    const summary: AdaptSummary = {
      out,
      steps: result.steps,
      loss: provenance.loss,
      sparsity: provenance.sparsity,
      ...(grid && { grid }),
      ...(result.memory && { memory: result.memory }),
      ...(rates.length > 0 && { tokensPerSecond: rates.reduce((a, b) => a + b, 0) / rates.length }),
    };
    if (parsed.values.json) io.out(jsonLine(summary));
    else if (!parsed.values.quiet)
      io.err(
        `wrote ${out}: ${result.steps} steps, rank ${result.merged.modules[0]?.a.shape[0] ?? 0}, loss ${result.trainLoss?.toFixed(4) ?? '-'}${
          result.memory ? `; memory: ${describePeaks(result.memory)}` : ''
        }\n`,
      );
    return 0;
  },
};

/**
 * What a checkpoint must have been made with to be resumed: the options
 * after defaults, the grid, and the flags that shape the data and the dev
 * scores.
 */
function runIdentity(parsed: ParsedCommand, options: object, ratios: readonly number[]): Record<string, unknown> {
  const strings = ['template', 'system', 'date-string', 'max-length', 'max-new-tokens', 'ramp-steps', 'every', 'base-dtype'];
  const raw = Object.fromEntries(strings.map((name) => [name, flag(parsed, name) ?? null]));
  return { ...options, ratios, flags: { ...raw, chat: parsed.values.chat === true, 'no-eos': parsed.values['no-eos'] === true } };
}
