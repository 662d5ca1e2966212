import { mkdir } from 'node:fs/promises';
import {
  CausalLM,
  LoraFuseError,
  downloadAdapter,
  isLoraFuseError,
  initLoraAdapter,
  loadCheckpoint,
  saveAdapter,
  train,
  uploadAdapter,
  type LrSchedule,
  type TrainEvent,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { describePeaks, jsonLine } from '../format.js';
import type { CliIO } from '../io.js';
import { useCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import {
  BASE_DTYPE_OPTION,
  BASE_DTYPE_USAGE,
  CHECKPOINTING_OPTION,
  CHECKPOINTING_USAGE,
  checkpointingOf,
  baseDtypeOf,
  DATA_OPTIONS,
  DATA_USAGE,
  modelTokenizer,
  numberOption,
  promptFormat,
  readExamples,
  required,
} from './model-data.js';
import { budgetOf } from './plan.js';
import type { Command } from './types.js';

const SCHEDULES = ['constant', 'linear', 'cosine'] as const;

/** `lorafuse train --model dir --train file.jsonl --out dir`: trains a new LoRA adapter. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a new LoRA adapter on JSONL data (AdamW, loss on the summary and its eos)',
  usage: `Usage: lorafuse train --model <dir> --train <jsonl> [--val <jsonl>] --out <dir>
                      [--rank r] [--alpha a] [--targets q_proj,v_proj] [--epochs n] [--lr x]
                      [--schedule constant|linear|cosine] [--warmup steps] [--epoch-decay f]
                      [--accumulation k] [--weight-decay x] [--max-grad-norm x] [--patience n]
                      [--checkpoint <dir> [--checkpoint-every n] [--resume]] [--memory-budget bytes] [--base-dtype d] [--checkpointing c]
                      [--template t | --chat [--system s] [--date-string d]] [--no-eos]
                      [--max-length n] [--batch-size n] [--backend name] [--seed n] [--json]

  --model         Hugging Face model folder (Llama family)
  --train, --val  JSONL training and validation data ({"source","summary"} or {"text"})
  --out           folder for the trained PEFT adapter
  --rank, --alpha LoRA rank (default 8) and alpha (default 2·rank)
  --targets       comma-separated module names (default q_proj,v_proj)
  --epochs        passes over the data (default 1)
  --lr            peak learning rate (default 2e-4)
  --schedule      constant (default), linear or cosine decay after --warmup steps (default 0),
                  times --epoch-decay^epoch (default 1)
  --accumulation  micro-batches per optimizer step (default 1)
  --weight-decay  AdamW decoupled weight decay (default 0.01)
  --max-grad-norm clip the gradient's global L2 norm (default: no clipping)
  --patience      stop after this many epochs without a lower validation loss
  --checkpoint    folder for trainer-state.safetensors (adapter, AdamW state, progress),
                  written at each epoch's end and every --checkpoint-every steps
  --resume        continue from the checkpoint in --checkpoint (same data and options):
                  the result equals an uninterrupted run on the same backend
  --memory-budget cap the backend's memory below its own limit (bytes, or with KiB, MiB, GiB): the run
                  is planned (lorafuse plan) and refused before its first step when it would not fit
${DATA_USAGE}
${BASE_DTYPE_USAGE}
${CHECKPOINTING_USAGE}
  --json          one JSON line per event: {"type":"step",…}, {"type":"eval",…}, {"type":"done",…,"memory":{…}}
                  (memory: the backend's peaks, wasm "bytesInUse" and "top", WebGPU "bytesInUse" and "bufferBytes")
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('train', argv, {
      model: { type: 'string' },
      train: { type: 'string' },
      val: { type: 'string' },
      out: { type: 'string' },
      rank: { type: 'string' },
      alpha: { type: 'string' },
      targets: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      schedule: { type: 'string' },
      warmup: { type: 'string' },
      'epoch-decay': { type: 'string' },
      accumulation: { type: 'string' },
      'weight-decay': { type: 'string' },
      'max-grad-norm': { type: 'string' },
      patience: { type: 'string' },
      checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'memory-budget': { type: 'string' },
      ...BASE_DTYPE_OPTION,
      ...CHECKPOINTING_OPTION,
      resume: { type: 'boolean' },
      ...DATA_OPTIONS,
    });
    const modelDir = required('train', parsed, 'model');
    const trainPath = required('train', parsed, 'train');
    const out = required('train', parsed, 'out');
    const seed = parseSeed(parsed.values.seed);
    const int = (name: string, fallback: number, min = 1) => numberOption('train', parsed, name, fallback, { min, integer: true });
    const rank = int('rank', 8);
    const schedule = scheduleOf(parsed);
    const runtime = await cliRuntime(cliPlugins(seed));
    try {
      const backend = await useCliBackend(runtime, parsed.values, io);
      const { folder } = await folderOpener(io, parsed)(modelDir);
      const model = await CausalLM.load(backend, folder, baseDtypeOf('train', parsed));
      const tokenizer = await modelTokenizer(folder, model);
      const format = await promptFormat('train', parsed, folder);
      const examples = await readExamples('train', parsed, trainPath, tokenizer, model, format);
      const validation = typeof parsed.values.val === 'string' ? await readExamples('train', parsed, parsed.values.val, tokenizer, model, format) : undefined;
      const targets =
        typeof parsed.values.targets === 'string'
          ? parsed.values.targets
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean)
          : undefined;
      const fresh = initLoraAdapter(model.weights, {
        r: rank,
        alpha: numberOption('train', parsed, 'alpha', 2 * rank, { min: Number.MIN_VALUE }),
        targets,
        seed,
      });
      const adapter = uploadAdapter(backend, fresh);
      const maxGradNorm =
        parsed.values['max-grad-norm'] === undefined ? undefined : numberOption('train', parsed, 'max-grad-norm', 1, { min: Number.MIN_VALUE });
      const patience = parsed.values.patience === undefined ? undefined : int('patience', 1);
      const checkpointDir = typeof parsed.values.checkpoint === 'string' ? parsed.values.checkpoint : undefined;
      if (parsed.values.resume && !checkpointDir)
        throw new LoraFuseError('CLI_USAGE', 'train: --resume needs --checkpoint <dir>. See `lorafuse train --help`.');
      if (checkpointDir) await mkdir(checkpointDir, { recursive: true });
      const every = parsed.values['checkpoint-every'] === undefined ? undefined : int('checkpoint-every', 1);
      const events = train(backend, model, {
        adapters: [adapter],
        train: examples,
        validation,
        padId: tokenizer.pad,
        batchSize: int('batch-size', 8),
        accumulation: int('accumulation', 1),
        epochs: int('epochs', 1),
        schedule,
        adamw: { weightDecay: numberOption('train', parsed, 'weight-decay', 0.01) },
        maxGradNorm,
        seed,
        earlyStopping: patience === undefined ? undefined : { patience },
        checkpoint: checkpointDir === undefined ? undefined : { folder: nodeFolder(checkpointDir), everySteps: every },
        resume: parsed.values.resume && checkpointDir ? await loadCheckpoint(nodeFolder(checkpointDir)) : undefined,
        ...budgetOf(parsed),
        ...checkpointingOf('train', parsed),
      });
      const save = async () => {
        await mkdir(out, { recursive: true });
        await saveAdapter(nodeFolder(out), await downloadAdapter(backend, adapter, fresh.config));
      };
      try {
        for await (const event of events) report(event, io, parsed.values.json === true, parsed.values.quiet === true);
      } catch (error) {
        // After divergence the adapter holds its last good step: keep that work, then report the failure.
        if (!isLoraFuseError(error, 'TRAINING_DIVERGED')) throw error;
        await save();
        throw new LoraFuseError('TRAINING_DIVERGED', `${error.message} The last good adapter was saved to ${out}.`, { cause: error, details: error.details });
      }
      await save();
    } finally {
      await runtime.dispose();
    }
    return 0;
  },
};

function scheduleOf(parsed: ParsedCommand): LrSchedule {
  const kind = parsed.values.schedule ?? 'constant';
  if (!SCHEDULES.includes(kind as (typeof SCHEDULES)[number])) {
    throw new LoraFuseError('CLI_USAGE', `train: --schedule must be one of ${SCHEDULES.join(', ')}, got ${String(kind)}.`);
  }
  return {
    kind: kind as LrSchedule['kind'],
    lr: numberOption('train', parsed, 'lr', 2e-4),
    warmupSteps: numberOption('train', parsed, 'warmup', 0, { integer: true }),
    epochDecay: numberOption('train', parsed, 'epoch-decay', 1),
  };
}

function report(event: TrainEvent, io: CliIO, json: boolean, quiet: boolean): void {
  if (json) {
    io.out(jsonLine(event));
    return;
  }
  if (quiet) return;
  if (event.type === 'step')
    io.err(
      `step ${event.step}  epoch ${event.epoch}  loss ${event.loss.toFixed(4)}  lr ${event.lr.toExponential(2)}  ${Math.round(event.tokensPerSecond)} tok/s\n`,
    );
  else if (event.type === 'eval') io.err(`epoch ${event.epoch}  validation loss ${event.loss.toFixed(4)}\n`);
  else io.err(`done: ${event.steps} steps, ${event.epochs} epochs (${event.reason})${event.memory ? `; memory: ${describePeaks(event.memory)}` : ''}\n`);
}
