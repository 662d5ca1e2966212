// The run itself, independent of where its inputs live: load, score the
// baselines, adapt (train + prune), score again, merge and encode the PEFT
// files. The same steps and options as `lorafuse adapt`, so the adapter is
// the command line's for the same inputs and seed.
import {
  ByteTokenizer,
  CausalLM,
  HF_TOKENIZER_FILE,
  HfTokenizer,
  LoraFuseError,
  PUBLISHED_ADAPT_SETTINGS,
  adaptiveMerge,
  encodeRecord,
  evaluateLoss,
  freeAdapter,
  loadAdapter,
  memoryFolder,
  readJsonl,
  saveAdapter,
  throwIfAborted,
  uploadAdapter,
  type Backend,
  type ByteSource,
  type DeviceAdapter,
  type Example,
  type Folder,
  type LoraAdapter,
  type PluginRegistry,
  type TrainCheckpoint,
  type WritableFolder,
} from '@lorafuse/core';
import type { RunOptions, RunProgress, RunResult, TableRow } from './api.js';

/** The inputs of a run, already opened. */
export interface PipelineInputs {
  readonly model: Folder;
  /** The target adapter first, then the related ones. */
  readonly adapters: readonly Folder[];
  readonly train: ByteSource;
  readonly validation?: ByteSource;
}

/** How the caller steers a run. */
export interface PipelineControl {
  readonly signal: AbortSignal;
  readonly progress: (value: RunProgress) => void;
  /** Where the training state is saved (OPFS), when it is. */
  readonly checkpoint?: WritableFolder;
  readonly resume?: TrainCheckpoint;
}

const p = PUBLISHED_ADAPT_SETTINGS;

async function readExamples(source: ByteSource, model: CausalLM, tokenizer: ByteTokenizer | HfTokenizer): Promise<Example[]> {
  const records = await readJsonl(source);
  if (records.length === 0) throw new LoraFuseError('DATA_INVALID', `${source.name} holds no records.`);
  return records.map((r) => encodeRecord(r, tokenizer, { maxLength: model.config.maxPositionEmbeddings }));
}

/** Scores one table row, reporting each batch. */
async function score(
  name: string,
  backend: Backend,
  model: CausalLM,
  examples: Example[],
  adapters: DeviceAdapter[],
  padId: number,
  control: PipelineControl,
): Promise<TableRow> {
  const onProgress = (done: number, total: number) => control.progress({ kind: 'stage', text: `scoring ${name}: ${done}/${total}` });
  const { loss, perplexity } = await evaluateLoss(backend, model, examples, { adapters, padId, signal: control.signal, onProgress });
  return { name, cells: { loss, perplexity, sparsity: null } };
}

/** Runs `work` with `hosts` copied to the backend, freeing the copies after. */
async function withDevices<T>(backend: Backend, hosts: readonly LoraAdapter[], work: (devices: DeviceAdapter[]) => Promise<T>): Promise<T> {
  const devices = hosts.map((h) => uploadAdapter(backend, h));
  try {
    return await work(devices);
  } finally {
    for (const d of devices) freeAdapter(backend, d);
  }
}

/** Runs the adaptive merge on `backend` and returns the merged PEFT adapter's files and the comparison table. */
export async function runPipeline(
  backend: Backend,
  plugins: PluginRegistry,
  inputs: PipelineInputs,
  options: RunOptions,
  control: PipelineControl,
): Promise<RunResult> {
  const { signal, progress } = control;
  progress({ kind: 'stage', text: `loading the model on ${backend.name}` });
  const model = await CausalLM.load(backend, inputs.model);
  try {
    const tokenizer = (await inputs.model.exists(HF_TOKENIZER_FILE)) ? await HfTokenizer.load(inputs.model) : new ByteTokenizer();
    if (model.config.vocabSize < tokenizer.vocabSize) {
      throw new LoraFuseError(
        'MODEL_UNSUPPORTED',
        `The model has ${model.config.vocabSize} token ids, fewer than the ${tokenizer.vocabSize} of its tokenizer; add its tokenizer.json.`,
      );
    }
    const train = await readExamples(inputs.train, model, tokenizer);
    const validation = inputs.validation ? await readExamples(inputs.validation, model, tokenizer) : undefined;
    const scored = validation ?? train;
    const hosts = [];
    for (const folder of inputs.adapters) hosts.push(await loadAdapter(folder));
    throwIfAborted(signal);
    const table: TableRow[] = [await score('base model', backend, model, scored, [], tokenizer.pad, control)];
    table.push(await withDevices(backend, hosts.slice(0, 1), (target) => score('target adapter', backend, model, scored, target, tokenizer.pad, control)));
    table.push(await withDevices(backend, hosts, (all) => score('cat merge, untrained', backend, model, scored, all, tokenizer.pad, control)));
    const { epochs, lr, accumulation, batchSize, ratio, seed } = options;
    const stepsPerEpoch = Math.ceil(Math.ceil(train.length / batchSize) / accumulation);
    progress({ kind: 'start', totalSteps: stepsPerEpoch * epochs, firstStep: control.resume?.progress.step ?? 0, device: backend.description });
    let loss = Number.NaN;
    let sparsity: number | null = null;
    const result = await adaptiveMerge(backend, model, {
      adapters: hosts,
      labels: inputs.adapters.map((f) => f.name),
      train,
      validation,
      padId: tokenizer.pad,
      plugins,
      seed,
      ratio,
      metric: p.metric,
      grouping: p.grouping,
      refresh: p.refresh,
      epochs,
      lr,
      epochDecay: p.epochDecay,
      accumulation,
      batchSize,
      weightDecay: p.weightDecay,
      checkpoint: control.checkpoint && options.checkpointEvery > 0 ? { folder: control.checkpoint, everySteps: options.checkpointEvery } : undefined,
      resume: control.resume,
      signal,
      onProgress: (event) => {
        if (event.type === 'step') loss = event.loss;
        else if (event.type === 'prune') {
          const size = event.tensors.reduce((n, t) => n + t.size, 0);
          sparsity = size === 0 ? 0 : event.tensors.reduce((n, t) => n + t.pruned, 0) / size;
          progress({ kind: 'step', step: event.step, epoch: event.epoch, loss, sparsity });
        } else if (event.type === 'eval') progress({ kind: 'eval', epoch: event.epoch, loss: event.loss });
      },
    });
    // The row scores the adapter the run writes: the cat merge of the trained, pruned factors.
    const adapted = await withDevices(backend, [result.merged], (merged) =>
      score('adaptive merge + pruning', backend, model, scored, merged, tokenizer.pad, control),
    );
    table.push({ ...adapted, cells: { ...adapted.cells, sparsity } });
    const out = memoryFolder();
    await saveAdapter(out, result.merged);
    return { files: Object.fromEntries(out.files), steps: result.steps, backend: backend.name, device: backend.description, table };
  } finally {
    model.dispose();
  }
}
