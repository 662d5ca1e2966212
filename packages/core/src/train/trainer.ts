import { AdamW, type AdamWOptions } from '../autograd/adamw.js';
import { Tape } from '../autograd/tape.js';
import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeBatch } from '../data/batch.js';
import type { Example } from '../data/encode.js';
import { isLoraFuseError, LoraFuseError, throwIfAborted } from '../errors/index.js';
import { batchLoss, chunks, evaluateLoss } from '../eval/loss.js';
import { adapterParameters, type DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { WritableFolder } from '../io/folder.js';
import { accumulate } from './accumulate.js';
import type { HookState, StepContext, TrainHook } from './hooks.js';
import { freeStatistics, type StatisticsOptions, StepStatisticsCollector } from './step-statistics.js';
import { captureCheckpoint, restoreParams, writeCheckpoint, type TrainCheckpoint, type TrainProgress } from './checkpoint.js';
import type { TrainEvent } from './events.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { epochOrder } from './shuffle.js';
import { Throughput } from './throughput.js';

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
   * optimizer steps (default: at the end of each epoch only), at each
   * epoch's last step, before throwing `TRAINING_DIVERGED`, and on abort
   * (the last completed step, when it is not saved yet). Each save replaces
   * the previous checkpoint atomically ({@link writeCheckpoint}).
   */
  readonly checkpoint?: { readonly folder: WritableFolder; readonly everySteps?: number };
  /**
   * Continue from a checkpoint ({@link loadCheckpoint}) of a run with the
   * same data, options and seed: the trained tensors and optimizer state are
   * restored and the run goes on from the step after the saved one, exactly
   * as the uninterrupted run would on the same backend.
   */
  readonly resume?: TrainCheckpoint;
  /**
   * Handling of bad steps, whose loss or gradient norm is NaN or infinite.
   * Such a step's update is always skipped (parameters and AdamW state stay
   * as they were) and its event says `skipped: true`.
   */
  readonly badSteps?: BadStepOptions;
  /**
   * Queue each step's forward and backward passes before the previous
   * step's loss and gradient norm reach the host (default true), so that a
   * device never waits for the host between steps; the previous step's
   * update, queued earlier, decides on the device whether it applies (see
   * {@link AdamwGuard}). Steps, events, checkpoints and bad-step handling
   * are the same either way; what differs is that a change made to the
   * model or the parameters while the loop handles a step's event (pruning,
   * editing weights) reaches the step after next. Set false when the
   * next step must see it, as `adapt()` does.
   */
  readonly runAhead?: boolean;
  /**
   * Work run after every optimizer update, before the next step's passes
   * (pruning, in `adapt`): see {@link TrainHook}. Their state is saved in
   * checkpoints and restored on resume.
   */
  readonly hooks?: readonly TrainHook[];
  /** Activation statistics to gather from each step's forward passes for the hooks ({@link StepStatistics}). */
  readonly statistics?: StatisticsOptions;
  /**
   * LoRA dropout probability in `[0, 1)` for every adapter, applied as PEFT
   * does on the LoRA branch's input during training (never in evaluation);
   * default each adapter's own ({@link DeviceAdapter.dropout}, its config's
   * `lora_dropout`). The masks come from the Philox stream of `seed`, the
   * step and micro-batch, the adapter and the module, so a resumed run
   * draws the same ones.
   */
  readonly loraDropout?: number;
  /** Checked before each micro-batch: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called with every event, as it is yielded. */
  readonly onProgress?: (event: TrainEvent) => void;
}

/** What {@link train} does after a step with a non-finite loss or gradient norm. */
export interface BadStepOptions {
  /**
   * Bad steps in a row after which training stops with `TRAINING_DIVERGED`
   * (default 5). The checkpoint folder, when configured, then holds the last
   * good parameters.
   */
  readonly maxConsecutive?: number;
  /**
   * Multiplies the learning rate by this factor after each bad step, for the
   * rest of the run (default 1: no back-off; 0.5 halves it each time).
   */
  readonly lrBackoff?: number;
}

function checkOptions(options: TrainOptions): void {
  const positive = { batchSize: options.batchSize, accumulation: options.accumulation, epochs: options.epochs };
  for (const [name, value] of Object.entries(positive)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new LoraFuseError('INVALID_OPTION', `${name} must be a positive integer; got ${value}.`);
  }
  if (options.train.length === 0) throw new LoraFuseError('INVALID_OPTION', 'The training data is empty.');
  if (options.maxGradNorm !== undefined && !(options.maxGradNorm > 0))
    throw new LoraFuseError('INVALID_OPTION', `maxGradNorm must be > 0; got ${options.maxGradNorm}.`);
  const { maxConsecutive, lrBackoff } = options.badSteps ?? {};
  if (maxConsecutive !== undefined && (!Number.isInteger(maxConsecutive) || maxConsecutive < 1)) {
    throw new LoraFuseError('INVALID_OPTION', `badSteps.maxConsecutive must be a positive integer; got ${maxConsecutive}.`);
  }
  if (lrBackoff !== undefined && !(lrBackoff > 0 && lrBackoff <= 1))
    throw new LoraFuseError('INVALID_OPTION', `badSteps.lrBackoff must be in (0, 1]; got ${lrBackoff}.`);
  const dropout = options.loraDropout;
  if (dropout !== undefined && !(dropout >= 0 && dropout < 1)) throw new LoraFuseError('INVALID_OPTION', `loraDropout must be in [0, 1); got ${dropout}.`);
}

const nullable = (x: number) => (Number.isFinite(x) ? x : null);

/** `promise`, marked as handled so that a rejection before it is awaited is not reported as unhandled; awaiting it still throws. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The sum of scalar device tensors (the first itself when alone; undefined for none); the sums made join `held`. */
function sumOnDevice(backend: Backend, tensors: readonly DeviceTensor[], held: DeviceTensor[]): DeviceTensor | undefined {
  let sum = tensors[0];
  for (const t of tensors.slice(1)) {
    sum = backend.kernels.add(sum, t);
    held.push(sum);
  }
  return sum;
}

/** A step whose update is queued on the device and whose loss and gradient norm are still on their way to the host. */
interface QueuedStep {
  readonly stepInEpoch: number;
  readonly lastOfEpoch: boolean;
  readonly started: number;
  /** Tokens of the step's examples, padding excluded. */
  readonly seen: number;
  readonly lr: number;
  /** Each micro-batch's loss read, with its weight. */
  readonly losses: ReadonlyArray<readonly [Promise<Tensor>, number]>;
  readonly norm: Promise<number>;
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
 * the last completed step is checkpointed (when a folder is configured and
 * it is not saved yet), the optimizer's moments are freed and `ABORTED` is
 * thrown: the parameters hold the result of the last completed step.
 *
 * A step whose loss or gradient norm is NaN or infinite is skipped (see
 * {@link TrainOptions.badSteps}); after too many in a row the run saves a
 * checkpoint of the last good parameters (when a folder is configured) and
 * throws `TRAINING_DIVERGED`.
 */
export function train(backend: Backend, model: CausalLM, options: TrainOptions): AsyncGenerator<TrainEvent, void, undefined> {
  return trainSteps(backend, model, options);
}

/**
 * {@link train}, also handing the run's whole state after every step to
 * `onState` (before the step's event), so that a caller can continue the run
 * elsewhere from the last completed step.
 */
export async function* trainSteps(
  backend: Backend,
  model: CausalLM,
  options: TrainOptions,
  onState?: (state: TrainCheckpoint) => void,
): AsyncGenerator<TrainEvent, void, undefined> {
  checkOptions(options);
  const { batchSize = 8, accumulation = 1, epochs = 1, seed = 0, padId, signal, runAhead = true } = options;
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
  if (start && start.seed !== seed)
    throw new LoraFuseError('INVALID_OPTION', `The checkpoint was made with seed ${start.seed}, not ${seed}; resume with the same seed.`);
  let step = start?.step ?? 0;
  let best = start?.best ?? Infinity;
  let lowest = start?.lowest ?? Infinity;
  let stale = start?.stale ?? 0;
  let epoch = start?.epoch ?? 0;
  let skippedSteps = start?.skippedSteps ?? 0;
  let badInARow = start?.badInARow ?? 0;
  let lrScale = start?.lrScale ?? 1;
  let lastLoss = start?.loss ?? null;
  const { maxConsecutive = 5, lrBackoff = 1 } = options.badSteps ?? {};
  const hooks = options.hooks ?? [];
  if (options.resume) {
    restoreParams(backend, params, options.resume.params);
    optimizer.importState(options.resume.optimizer);
    for (const [i, hook] of hooks.entries()) await hook.loadState?.(options.resume.hooks?.[i] ?? { tensors: {} });
  }
  const statistics = options.statistics && StepStatisticsCollector.forAdapters(backend, options.adapters, options.statistics);
  const progress = (stepInEpoch: number): TrainProgress => ({
    step,
    epoch,
    stepInEpoch,
    seed,
    best: nullable(best),
    lowest: nullable(lowest),
    stale,
    skippedSteps,
    badInARow,
    lrScale,
    loss: lastLoss,
  });
  /** The last completed step's place in its epoch while no checkpoint holds it (what an abort saves). */
  let unsaved: number | undefined;
  const captureState = async (stepInEpoch: number) => {
    const hookStates: HookState[] = [];
    for (const hook of hooks) hookStates.push((await hook.saveState?.()) ?? { tensors: {} });
    return captureCheckpoint(backend, params, await optimizer.exportState(), progress(stepInEpoch), hookStates);
  };
  let reason: 'completed' | 'early-stopped' = 'completed';
  // Tensors of the step being prepared that outlive its tape: its losses and gradient norm.
  const held: DeviceTensor[] = [];
  let queued: QueuedStep | undefined;
  const throughput = new Throughput();

  // The queued step on the host: its loss and norm decide, as its guard did
  // on the device, whether it counted; then checkpoints and its event.
  async function* settle(): AsyncGenerator<TrainEvent, void, undefined> {
    const q = queued;
    if (!q) return;
    queued = undefined;
    const gradNorm = await q.norm;
    let loss = 0;
    for (const [read, weight] of q.losses) loss += (await read).toFloat32()[0] * weight;
    // A non-finite loss or norm would poison the moments and the parameters for good: the guard dropped the update.
    const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
    if (skipped) {
      optimizer.undoCount();
      skippedSteps++;
      badInARow++;
      lrScale *= lrBackoff;
    } else {
      badInARow = 0;
    }
    step++;
    lastLoss = nullable(loss);
    const diverged = badInARow >= maxConsecutive;
    const every = options.checkpoint?.everySteps;
    const save = options.checkpoint && (diverged || q.lastOfEpoch || (every !== undefined && step % every === 0));
    unsaved = save ? undefined : q.stepInEpoch + 1;
    if (save || onState) {
      const state = await captureState(q.stepInEpoch + 1);
      if (save) await writeCheckpoint(options.checkpoint!.folder, state);
      onState?.(state);
    }
    const tokensPerSecond = throughput.complete(q.started, performance.now(), q.seen);
    yield emit({ type: 'step', step, epoch, loss, lr: q.lr, gradNorm, skipped, skippedSteps, tokensPerSecond });
    if (diverged) {
      throw new LoraFuseError(
        'TRAINING_DIVERGED',
        `The loss or gradient norm was NaN or infinite for ${badInARow} steps in a row (up to step ${step}); the parameters hold step ${step - badInARow}${
          options.checkpoint ? `, saved to ${options.checkpoint.folder.name}` : ''
        }. Lower the learning rate, set maxGradNorm, or check the data and the model's weights.`,
        { details: { step, badInARow, lastGoodStep: step - badInARow } },
      );
    }
  }

  const release = () => {
    for (const t of held.splice(0)) backend.free(t);
  };
  try {
    for (; epoch < epochs; epoch++) {
      const order = epochOrder(options.train.length, seed, epoch);
      const micro = chunks(order, batchSize).map((rows) => rows.map((i) => options.train[i]));
      const groups = chunks(micro, accumulation);
      for (const [g, group] of groups.entries()) {
        if (start && epoch === start.epoch && g < start.stepInEpoch) continue;
        if (!runAhead) yield* settle();
        const started = performance.now();
        const batches = group.map((examples) => makeBatch(examples, padId));
        const counted = batches.reduce((n, b) => n + b.tokens, 0);
        const seen = group.flat().reduce((n, e) => n + e.ids.length, 0);
        // Reads are requested without waiting: a read hands the work queued
        // so far to the device, which runs it while the host goes on.
        const losses: Array<[Promise<Tensor>, number]> = [];
        const lossTensors: DeviceTensor[] = [];
        try {
          for (const [m, batch] of batches.entries()) {
            throwIfAborted(signal);
            if (batch.tokens === 0) continue;
            const tape = new Tape(backend);
            tape.watch(...params);
            const onLinearInput = statistics?.beginBatch(
              group[m].map((e) => e.ids.length),
              batch.ids.shape[1],
            );
            const dropout = { seed, key: `lora_dropout/${epoch}/${g}/${m}`, ...(options.loraDropout === undefined ? {} : { p: options.loraDropout }) };
            const value = tape.keep(batchLoss(tape, model, batch, options.adapters, { dropout, onLinearInput }));
            held.push(value);
            lossTensors.push(value);
            const weight = batch.tokens / counted;
            losses.push([settledLater(backend.read(value)), weight]);
            accumulate(backend, grads, tape.backward(value, { seed: weight }));
            tape.dispose();
          }
        } catch (error) {
          // The previous step completes, as it would have before this one began.
          freeAll(backend, grads);
          release();
          if (statistics) freeStatistics(backend, statistics.take());
          yield* settle();
          throw error;
        }
        const norm = backend.kernels.globalNorm([...grads.values()]);
        held.push(norm);
        const normRead = settledLater(backend.read(norm).then((t) => t.toFloat32()[0]));
        // This step's forward and backward passes are on the device before
        // the host waits for the previous step's loss and norm, and this
        // step's update waits only for the previous verdict (the learning
        // rate's back-off, AdamW's step counts), not for its own values.
        yield* settle();
        throwIfAborted(signal);
        const lr = learningRate(schedule, step, epoch) * lrScale;
        const maxNorm = options.maxGradNorm;
        // Only the finiteness of the summed losses counts, not their weights.
        const loss = sumOnDevice(backend, lossTensors, held);
        optimizer.step(grads, { lr, ...(loss ? { guard: { norm, loss, ...(maxNorm === undefined ? {} : { maxNorm }) } } : {}) });
        const stepStatistics = statistics?.take();
        try {
          const context: StepContext = {
            backend,
            step: step + 1,
            epoch,
            params,
            gradients: grads,
            moments: (param) => optimizer.moments(param),
            ...(stepStatistics ? { statistics: stepStatistics } : {}),
          };
          for (const hook of hooks) await hook.afterUpdate(context);
        } finally {
          if (stepStatistics) freeStatistics(backend, stepStatistics);
          freeAll(backend, grads);
          release();
        }
        queued = { stepInEpoch: g, lastOfEpoch: g === groups.length - 1, started, seen, lr, losses, norm: normRead };
      }
      yield* settle();
      if (options.validation?.length) {
        const { loss } = await evaluateLoss(backend, model, options.validation, { adapters: options.adapters, padId, batchSize, signal });
        yield emit({ type: 'eval', epoch, loss });
        // Evaluation is not training time: the next step's rate starts with it.
        throughput.restart(performance.now());
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
  } catch (error) {
    // Aborted between steps: the last completed one (settled, its hooks run) is what a resume continues from.
    if (isLoraFuseError(error, 'ABORTED') && options.checkpoint && unsaved !== undefined) {
      await writeCheckpoint(options.checkpoint.folder, await captureState(unsaved));
    }
    throw error;
  } finally {
    freeAll(backend, grads);
    release();
    statistics?.dispose();
    optimizer.dispose();
  }
  yield emit({ type: 'done', steps: step, epochs: epoch, reason, ...(lowest < Infinity ? { bestValidationLoss: lowest } : {}) });
}
