import { Tape } from '../autograd/tape.js';
import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import { Tensor } from '../tensor/index.js';
import type { StepStatistics } from '../train/hooks.js';
import { freeStatistics, StepStatisticsCollector } from '../train/step-statistics.js';

/** Options of {@link collectInputNorms}. */
export interface CollectInputNormsOptions {
  /** Projections to measure, by module name (e.g. `model.layers.0.self_attn.q_proj`): usually the adapter's modules. */
  readonly modules: readonly string[];
  /** Calibration sequences; every token of every `ids` counts (their targets are not used). */
  readonly examples: readonly Pick<Example, 'ids'>[];
  /** Adapters applied in the forward passes, since they change the inputs of later layers. */
  readonly adapters?: readonly DeviceAdapter[];
  /** Checked before each sequence: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each sequence. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options of {@link collectActivationSquares}. */
export interface CollectActivationSquaresOptions {
  /** Calibration sequences; every token of every `ids` counts. */
  readonly examples: readonly Pick<Example, 'ids'>[];
  /** The adapters applied in the passes; their modules are the projections measured. */
  readonly adapters: readonly DeviceAdapter[];
  /** Also the sums of squares of each LoRA module's hidden features `A·x` (B's input). */
  readonly hidden?: boolean;
}

/**
 * The activation statistics of the method over calibration sequences, on
 * the device: for every projection an adapter adapts, `Σ_t x_tj²` over
 * every token of every sequence (and, with `hidden`, `Σ_t (A·x_t)_k²` of each
 * adapter's module), as {@link StepStatistics} the caller frees. Runs forward
 * passes only, one sequence at a time so that no padding token counts, with
 * the adapters applied; nothing is read back, so the work queues behind
 * whatever the device is doing. Throws `INVALID_OPTION` for no sequences.
 */
export function collectActivationSquares(backend: Backend, model: CausalLM, options: CollectActivationSquaresOptions): StepStatistics {
  const { examples } = options;
  if (examples.length === 0 || examples.every((e) => e.ids.length === 0))
    throw new LoraFuseError('INVALID_OPTION', 'Activation statistics need at least one non-empty calibration sequence.');
  const collector = StepStatisticsCollector.forAdapters(backend, options.adapters, { inputs: true, hidden: options.hidden });
  try {
    for (const example of examples) {
      if (example.ids.length === 0) continue;
      passOver(backend, model, example.ids, options.adapters, collector.beginBatch([example.ids.length], example.ids.length));
    }
    return collector.take();
  } finally {
    collector.dispose();
  }
}

/** One inference pass over `ids` that hands each projection's input to `onLinearInput` (the LM head, which no statistic reads, left out). */
function passOver(
  backend: Backend,
  model: CausalLM,
  ids: readonly number[],
  adapters: readonly DeviceAdapter[],
  onLinearInput: (name: string, x: DeviceTensor) => void,
) {
  const tape = new Tape(backend);
  try {
    model.hiddenStates(tape, tape.constant(new Tensor('i32', [1, ids.length], Int32Array.from(ids))), { adapters, onLinearInput });
  } finally {
    tape.dispose();
  }
}

/**
 * Streams the activation statistics of the method: for each module in
 * `modules`, `n_j = ‖X_j‖₂`, the L2 norm of input feature `j` of that
 * projection over every token of every calibration sequence. Runs forward
 * passes only (no gradients), one sequence at a time so that no padding
 * token is counted, summing squares on the backend with the
 * `columnSumSquares` kernel; the square root is taken once at the end, in
 * float64. Returns host f32 `[in]` tensors by module name. Throws
 * `INVALID_OPTION` for no sequences or a module the model never calls,
 * and `ABORTED`.
 */
export async function collectInputNorms(backend: Backend, model: CausalLM, options: CollectInputNormsOptions): Promise<Map<string, Tensor>> {
  const { examples, signal } = options;
  if (examples.length === 0 || examples.every((e) => e.ids.length === 0))
    throw new LoraFuseError('INVALID_OPTION', 'Activation statistics need at least one non-empty calibration sequence.');
  const collector = new StepStatisticsCollector(backend, { inputs: options.modules });
  try {
    for (const [i, example] of examples.entries()) {
      throwIfAborted(signal);
      if (example.ids.length === 0) continue;
      passOver(backend, model, example.ids, options.adapters ?? [], collector.beginBatch([example.ids.length], example.ids.length));
      options.onProgress?.(i + 1, examples.length);
    }
    const sums = collector.take();
    try {
      const missing = options.modules.filter((name) => !sums.inputSquares.has(name));
      if (missing.length > 0) {
        throw new LoraFuseError(
          'INVALID_OPTION',
          `No projection named ${missing.join(', ')} runs in this model; name modules as model.layers.<i>.self_attn.q_proj etc.`,
          { details: { modules: missing } },
        );
      }
      const norms = new Map<string, Tensor>();
      for (const [name, sum] of sums.inputSquares) {
        const squares = (await backend.read(sum)).toFloat32();
        norms.set(
          name,
          new Tensor(
            'f32',
            [squares.length],
            Float32Array.from(squares, (s) => Math.sqrt(s)),
          ),
        );
      }
      return norms;
    } finally {
      freeStatistics(backend, sums);
    }
  } finally {
    collector.dispose();
  }
}
