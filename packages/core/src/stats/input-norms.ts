import { Tape } from '../autograd/tape.js';
import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import { Tensor } from '../tensor/index.js';
import { accumulate } from '../train/accumulate.js';

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
  const wanted = new Set(options.modules);
  if (examples.length === 0 || examples.every((e) => e.ids.length === 0))
    throw new LoraFuseError('INVALID_OPTION', 'Activation statistics need at least one non-empty calibration sequence.');
  const sums = new Map<string, DeviceTensor>();
  try {
    for (const [i, example] of examples.entries()) {
      throwIfAborted(signal);
      if (example.ids.length === 0) continue;
      const tape = new Tape(backend);
      try {
        const ids = tape.constant(new Tensor('i32', [1, example.ids.length], Int32Array.from(example.ids)));
        model.forward(tape, ids, {
          adapters: options.adapters,
          onLinearInput: (name, x) => {
            if (wanted.has(name)) accumulate(backend, sums, new Map([[name, backend.kernels.columnSumSquares(x)]]));
          },
        });
      } finally {
        tape.dispose();
      }
      options.onProgress?.(i + 1, examples.length);
    }
    const missing = [...wanted].filter((name) => !sums.has(name));
    if (missing.length > 0) {
      throw new LoraFuseError(
        'INVALID_OPTION',
        `No projection named ${missing.join(', ')} runs in this model; name modules as model.layers.<i>.self_attn.q_proj etc.`,
        { details: { modules: missing } },
      );
    }
    const norms = new Map<string, Tensor>();
    for (const [name, sum] of sums) {
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
    for (const t of sums.values()) backend.free(t);
  }
}
