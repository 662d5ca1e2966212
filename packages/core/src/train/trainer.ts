import { AdamW, type AdamWOptions } from '../autograd/adamw.js';
import { Tape } from '../autograd/tape.js';
import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { makeBatch } from '../data/batch.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { batchLoss, chunks, evaluateLoss } from '../eval/loss.js';
import { adapterParameters, type DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { WritableFolder } from '../io/folder.js';
import { accumulate } from './accumulate.js';
import { restoreParams, saveCheckpoint, type TrainCheckpoint, type TrainProgress } from './checkpoint.js';
import type { TrainEvent } from './events.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { epochOrder } from './shuffle.js';

/** Options of {@link train}. */
export interface TrainOptions {
  /** Adapters applied in the forward pass. */
  readonly adapters: readonly DeviceAdapter[];
  /** Tensors trained (f32, on the backend); default every adapter's A and B factors. */
  readonly params?: readonly DeviceTensor[];
  /** Encoded training examples (see {@link encodeRecord}). */
  readonly train: readonly Example[];
  /** Encoded validation examples, scored after each epoch. */
  readonly validation?: readonly Example[];
  /** The tokenizer's pad id (inside the model's vocabulary). */
  readonly padId: number;
  /** Examples per micro-batch (default 8). */
  readonly batchSize?: number;
  /** Micro-batches per optimizer step (gradient accumulation; default 1). */
  readonly accumulation?: number;
  /** Passes over the training data (default 1). */
  readonly epochs?: number;
  /** Learning-rate schedule; `totalSteps` defaults to the run's optimizer steps. */
  readonly schedule: LrSchedule;
  /** AdamW hyper-parameters other than the learning rate (PyTorch defaults). */
  readonly adamw?: Omit<AdamWOptions, 'lr'>;
  /** Clip the gradient's global L2 norm to this, as `torch.nn.utils.clip_grad_norm_` (default: no clipping). */
  readonly maxGradNorm?: number;
  /** Seed of the Philox shuffle (default 0). */
  readonly seed?: number;
  /** Stop when the validation loss has not improved by more than `minDelta` for `patience` epochs. */
  readonly earlyStopping?: { readonly patience: number; readonly minDelta?: number };
  /**
   * Save a checkpoint ({@link saveCheckpoint}) to `folder` every `everySteps`
   * optimizer steps (default: at the end of each epoch only) and at each
   * epoch's last step.
   */
  readonly checkpoint?: { readonly folder: WritableFolder; readonly everySteps?: number };
  /**
   * Continue from a checkpoint ({@link loadCheckpoint}) of a run with the
   * same data, options and seed: the trained tensors and optimizer state are
   * restored and the run goes on from the step after the saved one, exactly
   * as the uninterrupted run would on the same backend.
   */
  readonly resume?: TrainCheckpoint;
  /** Checked before each micro-batch: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called with every event, as it is yielded. */
  readonly onProgress?: (event: TrainEvent) => void;
}

function checkOptions(options: TrainOptions): void {
  const positive = { batchSize: options.batchSize, accumulation: options.accumulation, epochs: options.epochs };
  for (const [name, value] of Object.entries(positive)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new LoraFuseError('INVALID_OPTION', `${name} must be a positive integer; got ${value}.`);
  }
  if (options.train.length === 0) throw new LoraFuseError('INVALID_OPTION', 'The training data is empty.');
  if (options.maxGradNorm !== undefined && !(options.maxGradNorm > 0)) throw new LoraFuseError('INVALID_OPTION', `maxGradNorm must be > 0; got ${options.maxGradNorm}.`);
}

const nullable = (x: number) => (Number.isFinite(x) ? x : null);

async function readGlobalNorm(backend: Backend, tensors: DeviceTensor[]): Promise<number> {
  const norm = backend.kernels.globalNorm(tensors);
  try {
    return (await backend.read(norm)).toFloat32()[0];
  } finally {
    backend.free(norm);
  }
}

function freeAll(backend: Backend, grads: Map<DeviceTensor, DeviceTensor>) {
  for (const g of grads.values()) backend.free(g);
  grads.clear();
}

/**
 * Trains `params` (LoRA factors by default) of `model` with AdamW, as an
 * async iterator of events: a `step` per optimizer step, an `eval` per epoch
 * with validation data, then `done`. Each step accumulates the gradients of
 * `accumulation` micro-batches, each weighted by its share of the step's
 * counted target tokens, so the step equals one batch of all of them; then
 * clips the global norm and takes one AdamW step at the schedule's rate.
 * The examples are shuffled per epoch with the Philox stream of `seed`.
 *
 * On abort (checked before each micro-batch) the partial step is dropped,
 * the optimizer's moments are freed and `ABORTED` is thrown: the parameters
 * hold the result of the last completed step.
 */
export async function* train(backend: Backend, model: CausalLM, options: TrainOptions): AsyncGenerator<TrainEvent, void, undefined> {
  checkOptions(options);
  const { batchSize = 8, accumulation = 1, epochs = 1, seed = 0, padId, signal } = options;
  const params = options.params ?? options.adapters.flatMap(adapterParameters);
  const stepsPerEpoch = Math.ceil(Math.ceil(options.train.length / batchSize) / accumulation);
  const schedule = { totalSteps: stepsPerEpoch * epochs, ...options.schedule };
  const optimizer = new AdamW(backend, params, { ...options.adamw, lr: schedule.lr });
  const grads = new Map<DeviceTensor, DeviceTensor>();
  const emit = (event: TrainEvent) => {
    options.onProgress?.(event);
    return event;
  };
  const start = options.resume?.progress;
  if (start && start.seed !== seed) throw new LoraFuseError('INVALID_OPTION', `The checkpoint was made with seed ${start.seed}, not ${seed}; resume with the same seed.`);
  let step = start?.step ?? 0;
  let best = start?.best ?? Infinity;
  let lowest = start?.lowest ?? Infinity;
  let stale = start?.stale ?? 0;
  let epoch = start?.epoch ?? 0;
  if (options.resume) {
    restoreParams(backend, params, options.resume.params);
    optimizer.importState(options.resume.optimizer);
  }
  const progress = (stepInEpoch: number): TrainProgress => ({ step, epoch, stepInEpoch, seed, best: nullable(best), lowest: nullable(lowest), stale });
  let reason: 'completed' | 'early-stopped' = 'completed';
  try {
    for (; epoch < epochs; epoch++) {
      const order = epochOrder(options.train.length, seed, epoch);
      const micro = chunks(order, batchSize).map((rows) => rows.map((i) => options.train[i]));
      const groups = chunks(micro, accumulation);
      for (const [g, group] of groups.entries()) {
        if (start && epoch === start.epoch && g < start.stepInEpoch) continue;
        const started = performance.now();
        const batches = group.map((examples) => makeBatch(examples, padId));
        const counted = batches.reduce((n, b) => n + b.tokens, 0);
        const seen = group.flat().reduce((n, e) => n + e.ids.length, 0);
        let loss = 0;
        for (const batch of batches) {
          throwIfAborted(signal);
          if (batch.tokens === 0) continue;
          const tape = new Tape(backend);
          tape.watch(...params);
          const value = batchLoss(tape, model, batch, options.adapters);
          const weight = batch.tokens / counted;
          loss += (await backend.read(value)).toFloat32()[0] * weight;
          accumulate(backend, grads, tape.backward(value, { seed: weight }));
          tape.dispose();
        }
        const lr = learningRate(schedule, step, epoch);
        const gradNorm = await readGlobalNorm(backend, [...grads.values()]);
        const clip = options.maxGradNorm === undefined ? 1 : Math.min(1, options.maxGradNorm / (gradNorm + 1e-6));
        optimizer.step(grads, { lr, gradScale: clip });
        freeAll(backend, grads);
        step++;
        const every = options.checkpoint?.everySteps;
        if (options.checkpoint && (g === groups.length - 1 || (every !== undefined && step % every === 0))) {
          await saveCheckpoint(options.checkpoint.folder, backend, params, await optimizer.exportState(), progress(g + 1));
        }
        yield emit({ type: 'step', step, epoch, loss, lr, gradNorm, tokensPerSecond: seen / ((performance.now() - started) / 1000) });
      }
      if (options.validation?.length) {
        const { loss } = await evaluateLoss(backend, model, options.validation, { adapters: options.adapters, padId, batchSize, signal });
        yield emit({ type: 'eval', epoch, loss });
        const improved = loss < best - (options.earlyStopping?.minDelta ?? 0);
        lowest = Math.min(lowest, loss);
        if (improved) {
          best = loss;
          stale = 0;
        } else if (options.earlyStopping && ++stale >= options.earlyStopping.patience) {
          reason = 'early-stopped';
          epoch++;
          break;
        }
      }
    }
  } finally {
    freeAll(backend, grads);
    optimizer.dispose();
  }
  yield emit({ type: 'done', steps: step, epochs: epoch, reason, ...(lowest < Infinity ? { bestValidationLoss: lowest } : {}) });
}
