import type { Backend, BackendMemory } from '../backend/backend.js';
import { DeviceTensorTable, type DeviceDType, type DeviceTensor } from '../backend/device-tensor.js';
import {
  attentionBackwardGeometry,
  attentionGeometry,
  bottomKGeometry,
  broadcastGeometry,
  castGeometry,
  columnSumSquaresGeometry,
  concatGeometry,
  crossEntropyBackwardGeometry,
  crossEntropyGeometry,
  dropoutGeometry,
  elementwiseGeometry,
  embeddingBackwardGeometry,
  embeddingGeometry,
  loraImportanceGeometry,
  loraLinearGeometry,
  matmulGeometry,
  normalGeometry,
  permuteGeometry,
  randomGeometry,
  reshapeGeometry,
  rmsNormGeometry,
  ropeGeometry,
  scaleGeometry,
  sliceGeometry,
  softcapGeometry,
} from '../backend/geometry.js';
import type { KernelName, Kernels } from '../backend/kernels.js';
import { bytesPerElement, shapeSize, type Shape, Tensor } from '../tensor/index.js';
import type { MemoryTraits } from './traits.js';

/** What a planned tensor holds: its bytes, as the backend would round them, and what it is for. */
interface Planned {
  readonly bytes: number;
  /** The tensor a view shares its storage with (the storage is freed with the last handle). */
  readonly storage: { refs: number; readonly bytes: number };
}

/** Sorts a live tensor into a part of a plan (`weights`, `lora`, …). */
export type Classifier = (tensor: DeviceTensor) => string;

/** The live bytes at the highest point, by part. */
export interface PeakSnapshot {
  readonly bytes: number;
  readonly parts: Readonly<Record<string, number>>;
  /** The kernel running at that moment, if the peak came inside a kernel call. */
  readonly kernel?: KernelName;
}

/**
 * A backend that computes nothing: every kernel checks its arguments with
 * the shared geometry functions, allocates handles of the result shapes and
 * keeps count of the bytes live, rounded and viewed as the backend that
 * `traits` describes, plus the scratch a kernel of that backend holds while
 * it runs. Running the real forward and backward passes on it measures
 * their memory exactly, without weights or arithmetic: what
 * {@link planMemory} does. `read` returns zeros.
 */
export class PlanningBackend implements Backend {
  readonly name = 'planning';
  readonly isFallback = false;
  readonly description: string;
  readonly kernels: Kernels;
  readonly #traits: MemoryTraits;
  readonly #table = new DeviceTensorTable<Planned>('planning');
  #live = 0;
  #peak: PeakSnapshot = { bytes: 0, parts: {} };
  #largest = 0;
  /**
   * How live tensors are sorted into parts, and the bytes at which to sort
   * them: sorting every new high-water mark would cost time quadratic in
   * the tensors, so a planner runs once to find the peak, then again with
   * `captureAt` set to it. Without it, {@link PeakSnapshot.parts} stay empty.
   */
  readonly #breakdown: { readonly classify: Classifier; readonly captureAt: number } | undefined;
  #captured = false;

  constructor(traits: MemoryTraits, breakdown?: { readonly classify: Classifier; readonly captureAt: number }) {
    this.#traits = traits;
    this.#breakdown = breakdown;
    this.description = `planning (${traits.name})`;
    this.kernels = this.#makeKernels();
  }

  get disposed(): boolean {
    return this.#table.closed;
  }

  /** Bytes live now. */
  get liveBytes(): number {
    return this.#live;
  }

  /** The highest point since the last {@link PlanningBackend.resetPeak}. */
  get peak(): PeakSnapshot {
    return this.#peak;
  }

  /** Bytes of the largest single allocation so far. */
  get largestAllocation(): number {
    return this.#largest;
  }

  /** Starts a new high-water mark from what is live now. */
  resetPeak(): void {
    this.#peak = { bytes: 0, parts: {} };
    this.#notePeak(0);
  }

  /** A tensor of `shape` and `dtype` with no contents (weights, parameters): counts its bytes like an upload. */
  placeholder(shape: Shape, dtype: DeviceDType): DeviceTensor {
    return this.#allocate(shape, dtype);
  }

  upload(tensor: Tensor): DeviceTensor {
    return this.#allocate(tensor.shape, tensor.dtype as DeviceDType);
  }

  async read(tensor: DeviceTensor): Promise<Tensor> {
    this.#table.get(tensor);
    return new Tensor(tensor.dtype, tensor.shape);
  }

  free(tensor: DeviceTensor): void {
    const planned = this.#table.remove(tensor);
    if (--planned.storage.refs === 0) this.#live -= planned.storage.bytes;
  }

  async sync(): Promise<void> {}

  memory(): BackendMemory {
    return { tensors: this.#table.count, bytes: this.#live };
  }

  async dispose(): Promise<void> {
    this.#table.close();
  }

  #allocate(shape: Shape, dtype: DeviceDType, viewOf?: DeviceTensor): DeviceTensor {
    if (viewOf) {
      const source = this.#table.get(viewOf);
      source.storage.refs++;
      return this.#table.add(shape, dtype, { bytes: 0, storage: source.storage });
    }
    const bytes = this.#traits.allocationBytes(shapeSize(shape) * bytesPerElement(dtype));
    const handle = this.#table.add(shape, dtype, { bytes, storage: { refs: 1, bytes } });
    this.#live += bytes;
    this.#largest = Math.max(this.#largest, bytes);
    this.#notePeak(0);
    return handle;
  }

  #notePeak(scratch: number, kernel?: KernelName): void {
    const total = this.#live + scratch;
    if (total <= this.#peak.bytes) return;
    const breakdown = this.#breakdown;
    if (!breakdown || this.#captured || total !== breakdown.captureAt) {
      this.#peak = { bytes: total, parts: this.#peak.parts, ...(kernel ? { kernel } : {}) };
      return;
    }
    this.#captured = true;
    const parts: Record<string, number> = {};
    const counted = new Set<object>();
    for (const [handle, planned] of this.#table.entries()) {
      if (counted.has(planned.storage)) continue;
      counted.add(planned.storage);
      const part = breakdown.classify(handle);
      parts[part] = (parts[part] ?? 0) + planned.storage.bytes;
    }
    if (scratch > 0) parts.scratch = (parts.scratch ?? 0) + scratch;
    this.#peak = { bytes: total, parts, ...(kernel ? { kernel } : {}) };
  }

  /** Runs `allocate` (which makes the call's outputs), then counts the kernel's scratch on top of everything live. */
  #call<T>(kernel: KernelName, args: readonly unknown[], allocate: () => T): T {
    this.#table.assertOpen();
    const result = allocate();
    const scratch = this.#traits.scratchBytes(kernel, args);
    if (scratch > 0) this.#notePeak(scratch, kernel);
    return result;
  }

  #makeKernels(): Kernels {
    const call = <T>(kernel: KernelName, args: readonly unknown[], allocate: () => T) => this.#call(kernel, args, allocate);
    /** A new tensor of `shape` after checking that `inputs` are live handles of this backend. */
    const out = (inputs: readonly DeviceTensor[], shape: Shape, dtype: DeviceDType = 'f32') => {
      for (const t of inputs) this.#table.get(t);
      return this.#allocate(shape, dtype);
    };
    const none = (inputs: readonly DeviceTensor[]) => {
      for (const t of inputs) this.#table.get(t);
    };
    return {
      matmul: (a, b, options = {}) => call('matmul', [a, b, options], () => out([a, b], matmulGeometry(a, b, options).shape)),
      loraLinear: (x, w0, a, b, scale) => call('loraLinear', [x, w0, a, b, scale], () => out([x, w0, a, b], loraLinearGeometry(x, w0, a, b, scale).shape)),
      add: (a, b) => call('add', [a, b], () => out([a, b], broadcastGeometry('add', a, b).shape)),
      mul: (a, b) => call('mul', [a, b], () => out([a, b], broadcastGeometry('mul', a, b).shape)),
      scale: (x, factor) => call('scale', [x, factor], () => out([x], scaleGeometry(x, factor).shape)),
      abs: (x) => call('abs', [x], () => out([x], elementwiseGeometry('abs', x).shape)),
      sqrt: (x) => call('sqrt', [x], () => out([x], elementwiseGeometry('sqrt', x).shape)),
      cast: (x, dtype) => call('cast', [x, dtype], () => out([x], castGeometry(x, dtype).shape, dtype)),
      silu: (x) => call('silu', [x], () => out([x], elementwiseGeometry('silu', x).shape)),
      siluBackward: (x, dy) => call('siluBackward', [x, dy], () => out([x, dy], elementwiseGeometry('siluBackward', x, dy).shape)),
      swiglu: (gate, up) => call('swiglu', [gate, up], () => out([gate, up], elementwiseGeometry('swiglu', gate, up).shape)),
      swigluBackward: (gate, up, dy) =>
        call('swigluBackward', [gate, up, dy], () => {
          const { shape } = elementwiseGeometry('swigluBackward', gate, up, dy);
          return { dGate: out([gate, up, dy], shape), dUp: out([], shape) };
        }),
      geglu: (gate, up) => call('geglu', [gate, up], () => out([gate, up], elementwiseGeometry('geglu', gate, up).shape)),
      gegluBackward: (gate, up, dy) =>
        call('gegluBackward', [gate, up, dy], () => {
          const { shape } = elementwiseGeometry('gegluBackward', gate, up, dy);
          return { dGate: out([gate, up, dy], shape), dUp: out([], shape) };
        }),
      softcap: (x, cap) => call('softcap', [x, cap], () => out([x], softcapGeometry('softcap', cap, x).shape)),
      softcapBackward: (y, dy, cap) => call('softcapBackward', [y, dy, cap], () => out([y, dy], softcapGeometry('softcapBackward', cap, y, dy).shape)),
      rmsNorm: (x, weight, eps) =>
        call('rmsNorm', [x, weight, eps], () => {
          rmsNormGeometry(x, weight, eps);
          return out([x, weight], x.shape);
        }),
      rmsNormBackward: (x, weight, dy, eps) =>
        call('rmsNormBackward', [x, weight, dy, eps], () => {
          const { dim } = rmsNormGeometry(x, weight, eps, dy);
          return { dx: out([x, weight, dy], x.shape), dWeight: out([], [dim]) };
        }),
      rope: (x, cos, sin) =>
        call('rope', [x, cos, sin], () => {
          ropeGeometry('rope', x, cos, sin);
          return out([x, cos, sin], x.shape);
        }),
      ropeBackward: (dy, cos, sin) =>
        call('ropeBackward', [dy, cos, sin], () => {
          ropeGeometry('ropeBackward', dy, cos, sin);
          return out([dy, cos, sin], dy.shape);
        }),
      attention: (q, k, v, options = {}) =>
        call('attention', [q, k, v, options], () => {
          const g = attentionGeometry(q, k, v, options);
          return { out: out([q, k, v], q.shape), lse: out([], [g.batch, g.heads, g.seqQ]) };
        }),
      attentionBackward: (q, k, v, o, lse, dOut, options = {}) =>
        call('attentionBackward', [q, k, v, o, lse, dOut, options], () => {
          attentionBackwardGeometry(q, k, v, o, lse, dOut, options);
          return { dq: out([q, k, v, o, lse, dOut], q.shape), dk: out([], k.shape), dv: out([], v.shape) };
        }),
      crossEntropy: (logits, targets) =>
        call('crossEntropy', [logits, targets], () => {
          const { shape } = crossEntropyGeometry(logits, targets);
          return { loss: out([logits, targets], []), lse: out([], shape) };
        }),
      crossEntropyBackward: (logits, targets, lse, scale) =>
        call('crossEntropyBackward', [logits, targets, lse, scale], () => {
          crossEntropyBackwardGeometry(logits, targets, lse, scale);
          return out([logits, targets, lse], logits.shape);
        }),
      embedding: (ids, table) => call('embedding', [ids, table], () => out([ids, table], embeddingGeometry(ids, table).shape)),
      embeddingBackward: (ids, dy, vocabSize) =>
        call('embeddingBackward', [ids, dy, vocabSize], () => out([ids, dy], embeddingBackwardGeometry(ids, dy, vocabSize).shape)),
      sum: (x) => call('sum', [x], () => out([x], [])),
      columnSumSquares: (x) => call('columnSumSquares', [x], () => out([x], [columnSumSquaresGeometry(x).dim])),
      globalNorm: (tensors) => call('globalNorm', [tensors], () => out(tensors, [])),
      adamwStep: (param, grad, m, v, options) => call('adamwStep', [param, grad, m, v, options], () => none([param, grad, m, v])),
      loraImportance: (a, b, n) =>
        call('loraImportance', [a, b, n], () => {
          loraImportanceGeometry(a, b, n);
          return { a: out([a, b, n], a.shape), b: out([], b.shape) };
        }),
      bottomKMask: (scores, k) =>
        call('bottomKMask', [scores, k], () => {
          bottomKGeometry(scores, k);
          return out([scores], scores.shape, 'u8');
        }),
      maskApply: (param, mask, init) => call('maskApply', [param, mask, init], () => none(init ? [param, mask, init] : [param, mask])),
      randomUniform: (shape, options) => call('randomUniform', [shape, options], () => out([], randomGeometry(shape, options).shape)),
      randomNormal: (shape, options) => call('randomNormal', [shape, options], () => out([], normalGeometry(shape, options).shape)),
      dropout: (x, options) => call('dropout', [x, options], () => out([x], dropoutGeometry(x, options).shape)),
      reshape: (x, shape) =>
        call('reshape', [x, shape], () => {
          const to = reshapeGeometry(x, shape);
          if (!this.#traits.reshapeIsView) return out([x], to, x.dtype);
          return this.#allocate(to, x.dtype, x);
        }),
      permute: (x, axes) => call('permute', [x, axes], () => out([x], permuteGeometry(x, axes).shape, x.dtype)),
      slice: (x, axis, start, length) => call('slice', [x, axis, start, length], () => out([x], sliceGeometry(x, axis, start, length).shape, x.dtype)),
      concat: (a, b, axis) => call('concat', [a, b, axis], () => out([a, b], concatGeometry(a, b, axis).shape, a.dtype)),
    };
  }
}
