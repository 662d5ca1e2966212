import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError, isLoraFuseError } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { TrainCheckpoint } from './checkpoint.js';
import type { FailoverEvent } from './events.js';
import { trainSteps, type TrainOptions } from './trainer.js';

/** A model and the adapters to train, loaded onto one backend (what {@link FailoverOptions.load} returns). */
export interface TrainSession {
  /** The model, on the backend `load` was given. */
  readonly model: CausalLM;
  /** Adapters applied in the forward pass, on the same backend. */
  readonly adapters: readonly DeviceAdapter[];
  /** Tensors trained; default every adapter's A and B factors. */
  readonly params?: readonly DeviceTensor[];
}

/** Options of {@link trainWithFailover}: those of {@link train}, with the model and adapters loaded per backend. */
export interface FailoverOptions extends Omit<TrainOptions, 'adapters' | 'params' | 'onProgress'> {
  /**
   * Loads the model and the adapters onto `backend`: called for the first
   * backend, then for each backend the run moves to. It may load the
   * adapters' initial values; the trainer overwrites the trained tensors
   * with their values after the last completed step. The session returned
   * last holds the trained values when the run ends.
   */
  readonly load: (backend: Backend) => Promise<TrainSession>;
  /** Called with every event, as it is yielded. */
  readonly onProgress?: (event: FailoverEvent) => void;
}

/**
 * {@link train} that survives the loss of its device. The run starts on
 * `backends[0]`; when that backend loses its device (`DEVICE_LOST`, or any
 * failure after which the backend reports itself disposed), the model and
 * adapters are loaded onto the next backend with {@link FailoverOptions.load},
 * the trained tensors and the optimizer state are restored from the last
 * completed step, a `backend-switch` event is yielded, and the run goes on
 * from the next step: no step is run twice or lost. Other errors, and a
 * loss on the last backend, are thrown as they are.
 *
 * To continue from the last completed step the whole state (trained tensors
 * and AdamW moments) is copied to the host after every step, which costs one
 * read of them per step. The caller owns the backends and disposes them.
 */
export async function* trainWithFailover(backends: readonly Backend[], options: FailoverOptions): AsyncGenerator<FailoverEvent, void, undefined> {
  if (backends.length === 0) throw new LoraFuseError('INVALID_OPTION', 'trainWithFailover needs at least one backend.');
  const { load, onProgress, ...rest } = options;
  const emit = (event: FailoverEvent) => {
    onProgress?.(event);
    return event;
  };
  let state: TrainCheckpoint | undefined = options.resume;
  for (const [i, backend] of backends.entries()) {
    const session = await load(backend);
    const run = trainSteps(backend, session.model, { ...rest, adapters: session.adapters, params: session.params, resume: state }, (s) => (state = s));
    try {
      for await (const event of run) yield emit(event);
      return;
    } catch (error) {
      const next = backends[i + 1];
      if (next === undefined || !(await isDeviceLoss(error, backend))) throw error;
      yield emit({ type: 'backend-switch', from: backend.name, to: next.name, step: state?.progress.step ?? 0, reason: (error as Error).message });
    }
  }
}

/**
 * True when `error` ended the run because the backend's device went away.
 * A failure that races the device's `lost` notification (a rejected
 * buffer mapping) is recognised by the backend turning disposed right after.
 */
async function isDeviceLoss(error: unknown, backend: Backend): Promise<boolean> {
  if (isLoraFuseError(error, 'DEVICE_LOST')) return true;
  if (isLoraFuseError(error)) return false;
  await new Promise((resolve) => setTimeout(resolve, 0));
  return backend.disposed;
}
