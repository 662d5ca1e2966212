import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import { Tensor } from '../tensor/index.js';
import { accumulate } from './accumulate.js';
import { adapterModuleKey, type StepStatistics } from './hooks.js';

/** Which activation statistics {@link train} gathers from its forward passes (see {@link StepStatistics}). */
export interface StatisticsOptions {
  /** Sums of squares of every adapted projection's input features. */
  readonly inputs?: boolean;
  /** Sums of squares of every LoRA module's hidden features `A·x` (one extra `x·Aᵀ` product per module). */
  readonly hidden?: boolean;
}

/**
 * Gathers {@link StepStatistics} during forward passes: each adapted
 * projection's input `x` `[batch, seq, in]` is squared and summed over the
 * real tokens — by `columnSumSquares` when a micro-batch has no padding, else
 * by a product with its token mask (`[1, batch·seq]`, 0 on padding) — and
 * the sums of a step's micro-batches are added up.
 */
export class StepStatisticsCollector {
  readonly #backend: Backend;
  /** The projections whose inputs are measured. */
  readonly #inputModules: ReadonlySet<string>;
  /** The LoRA modules whose hidden features are measured, by projection, with the index of their adapter. */
  readonly #hiddenModules = new Map<string, { adapter: number; a: DeviceTensor }[]>();
  #inputs = new Map<string, DeviceTensor>();
  #hidden = new Map<string, DeviceTensor>();
  #tokens = 0;
  #mask: DeviceTensor | undefined;
  /** The micro-batch has no padding: plain column sums of squares then. */
  #dense = false;

  /** Measures the inputs of the projections named in `inputs` and the hidden features of the modules of the adapters in `hidden`. */
  constructor(backend: Backend, targets: { readonly inputs: Iterable<string>; readonly hidden?: readonly DeviceAdapter[] }) {
    this.#backend = backend;
    this.#inputModules = new Set(targets.inputs);
    for (const [adapter, { modules }] of (targets.hidden ?? []).entries()) {
      for (const m of modules) this.#hiddenModules.set(m.name, [...(this.#hiddenModules.get(m.name) ?? []), { adapter, a: m.a }]);
    }
  }

  /** What `options` asks for of the modules of `adapters`. */
  static forAdapters(backend: Backend, adapters: readonly DeviceAdapter[], options: StatisticsOptions): StepStatisticsCollector {
    const names = options.inputs ? adapters.flatMap((a) => a.modules.map((m) => m.name)) : [];
    return new StepStatisticsCollector(backend, { inputs: names, hidden: options.hidden ? adapters : [] });
  }

  /**
   * Starts a micro-batch of examples whose token counts are `lengths`,
   * padded to `seq`; returns the forward pass's `onLinearInput` hook.
   */
  beginBatch(lengths: readonly number[], seq: number): (module: string, x: DeviceTensor) => void {
    this.#endBatch();
    const mask = new Float32Array(lengths.length * seq);
    for (const [row, length] of lengths.entries()) mask.fill(1, row * seq, row * seq + length);
    this.#mask = this.#backend.upload(new Tensor('f32', [1, mask.length], mask));
    this.#dense = lengths.every((l) => l === seq);
    this.#tokens += lengths.reduce((n, l) => n + l, 0);
    return (module, x) => this.#observe(module, x);
  }

  /** Hands over what the step gathered (the caller frees it, see {@link freeStatistics}) and starts afresh. */
  take(): StepStatistics {
    this.#endBatch();
    const taken = { inputSquares: this.#inputs, hiddenSquares: this.#hidden, tokens: this.#tokens };
    this.#inputs = new Map();
    this.#hidden = new Map();
    this.#tokens = 0;
    return taken;
  }

  /** Frees everything not handed over. */
  dispose(): void {
    freeStatistics(this.#backend, this.take());
  }

  #endBatch(): void {
    if (this.#mask) this.#backend.free(this.#mask);
    this.#mask = undefined;
  }

  #observe(module: string, x: DeviceTensor): void {
    const owners = this.#hiddenModules.get(module) ?? [];
    const input = this.#inputModules.has(module);
    if ((!input && owners.length === 0) || !this.#mask) return;
    const k = this.#backend.kernels;
    const x2 = k.reshape(x, [this.#mask.shape[1], x.shape[x.shape.length - 1]]);
    try {
      if (input) this.#add(this.#inputs, module, x2);
      for (const { adapter, a } of owners) {
        const h = k.matmul(x2, a, { transB: true });
        try {
          this.#add(this.#hidden, adapterModuleKey(adapter, module), h);
        } finally {
          this.#backend.free(h);
        }
      }
    } finally {
      this.#backend.free(x2);
    }
  }

  /** Adds the column sums of squares of `rows` `[rows, n]` over the real tokens into `sums` under `key`. */
  #add(sums: Map<string, DeviceTensor>, key: string, rows: DeviceTensor): void {
    const k = this.#backend.kernels;
    if (this.#dense) {
      accumulate(this.#backend, sums, new Map([[key, k.columnSumSquares(rows)]]));
      return;
    }
    const squares = k.mul(rows, rows);
    try {
      const summed = k.matmul(this.#mask!, squares);
      const flat = k.reshape(summed, [rows.shape[1]]);
      this.#backend.free(summed);
      accumulate(this.#backend, sums, new Map([[key, flat]]));
    } finally {
      this.#backend.free(squares);
    }
  }
}

/** Frees the tensors of `statistics`. */
export function freeStatistics(backend: Backend, statistics: StepStatistics): void {
  for (const t of [...statistics.inputSquares.values(), ...statistics.hiddenSquares.values()]) backend.free(t);
}
