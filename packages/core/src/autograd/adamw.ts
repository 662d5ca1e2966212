import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { AdamwGuard } from '../backend/kernels.js';
import { LoraFuseError } from '../errors/index.js';
import { Tensor } from '../tensor/index.js';

/** Hyper-parameters of {@link AdamW}, with `torch.optim.AdamW`'s defaults. */
export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  readonly lr?: number;
  /** β₁ (default 0.9). */
  readonly beta1?: number;
  /** β₂ (default 0.999). */
  readonly beta2?: number;
  /** Added after the square root (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay (default 0.01). */
  readonly weightDecay?: number;
}

/** Per-step overrides of {@link AdamW.step}. */
export interface AdamWStepOptions {
  /** This step's learning rate (a schedule's value); default the optimizer's. */
  readonly lr?: number;
  /** Multiplies every gradient first (clipping, accumulation); default 1. */
  readonly gradScale?: number;
  /**
   * Device values that skip or clip the step where they are (see
   * {@link AdamwGuard}): the step is queued without reading them. If they
   * turn out not finite, call {@link AdamW.undoCount} before the next step.
   */
  readonly guard?: AdamwGuard;
}

/** One parameter's AdamW state, on the host (see {@link AdamW.exportState}). */
export interface AdamWSlotState {
  /** Steps this parameter has taken (bias correction). */
  readonly step: number;
  /** First moment, f32, the parameter's shape. */
  readonly m: Tensor;
  /** Second moment, f32, the parameter's shape. */
  readonly v: Tensor;
}

/** AdamW's state for checkpoints: one entry per parameter, in constructor order (undefined before its first step). */
export type AdamWState = readonly (AdamWSlotState | undefined)[];

interface Slot {
  readonly m: DeviceTensor;
  readonly v: DeviceTensor;
  step: number;
}

/**
 * `torch.optim.AdamW` over device tensors, updating the parameters in
 * place with the backend's `adamwStep` kernel. Like PyTorch, a parameter
 * without a gradient in a step is left alone and its own step count (used
 * for bias correction) does not advance. The moments are f32 tensors of the
 * parameters' shapes, created on first use; {@link AdamW.dispose} frees them.
 */
export class AdamW {
  /** The hyper-parameters, defaults filled in. */
  readonly options: Required<AdamWOptions>;
  readonly #backend: Backend;
  readonly #params: ReadonlySet<DeviceTensor>;
  readonly #slots = new Map<DeviceTensor, Slot>();
  /** The slots the last step advanced. */
  #stepped: Slot[] = [];

  constructor(backend: Backend, params: readonly DeviceTensor[], options: AdamWOptions = {}) {
    this.#backend = backend;
    this.#params = new Set(params);
    this.options = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...options };
  }

  /**
   * One optimizer step over every parameter that has a gradient in `grads`
   * (as {@link Tape.backward} returns them). The gradients are left for the
   * caller to free. Throws `INVALID_OPTION` for a gradient of a tensor this
   * optimizer does not hold, and the kernel's codes for bad hyper-parameters.
   */
  step(grads: ReadonlyMap<DeviceTensor, DeviceTensor>, options: AdamWStepOptions = {}): void {
    for (const key of grads.keys()) {
      if (!this.#params.has(key))
        throw new LoraFuseError('INVALID_OPTION', `AdamW.step got a gradient for a tensor [${key.shape.join(', ')}] that is not one of its parameters.`);
    }
    const { beta1, beta2, eps, weightDecay } = this.options;
    const lr = options.lr ?? this.options.lr;
    const { gradScale, guard } = options;
    this.#stepped = [];
    for (const param of this.#params) {
      const grad = grads.get(param);
      if (grad === undefined) continue;
      const slot = this.#slots.get(param) ?? this.#newSlot(param);
      slot.step++;
      this.#stepped.push(slot);
      this.#backend.kernels.adamwStep(param, grad, slot.m, slot.v, {
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        step: slot.step,
        gradScale,
        ...(guard ? { guard } : {}),
      });
    }
  }

  /**
   * Takes back the step counts of the last {@link AdamW.step}, whose guard
   * skipped it on the device: as if it had not been called, so the next
   * step's bias correction is right.
   */
  undoCount(): void {
    for (const slot of this.#stepped) slot.step--;
    this.#stepped = [];
  }

  /**
   * The first and second moments of `param` on the device (owned by the
   * optimizer; a caller may change them in place, as fixed pruning masks
   * do), or undefined before its first step.
   */
  moments(param: DeviceTensor): { readonly m: DeviceTensor; readonly v: DeviceTensor } | undefined {
    const slot = this.#slots.get(param);
    return slot && { m: slot.m, v: slot.v };
  }

  /** Copies the moments and step counts to the host, in parameter order (for a checkpoint). */
  async exportState(): Promise<AdamWState> {
    const state: (AdamWSlotState | undefined)[] = [];
    for (const param of this.#params) {
      const slot = this.#slots.get(param);
      state.push(slot && { step: slot.step, m: await this.#backend.read(slot.m), v: await this.#backend.read(slot.v) });
    }
    return state;
  }

  /**
   * Replaces the moments and step counts with `state` (from
   * {@link AdamW.exportState} of an optimizer over parameters of the same
   * shapes), so that training continues exactly. Throws `SHAPE_MISMATCH`
   * when the state does not fit the parameters.
   */
  importState(state: AdamWState): void {
    const params = [...this.#params];
    const fits =
      state.length === params.length && state.every((s, i) => !s || (sameShape(s.m.shape, params[i].shape) && sameShape(s.v.shape, params[i].shape)));
    if (!fits)
      throw new LoraFuseError('SHAPE_MISMATCH', `The AdamW state holds ${state.length} entries that do not match the ${params.length} parameters' shapes.`);
    this.dispose();
    for (const [i, s] of state.entries()) {
      if (!s) continue;
      const f32 = (t: Tensor) => this.#backend.upload(new Tensor('f32', t.shape, t.toFloat32()));
      this.#slots.set(params[i], { m: f32(s.m), v: f32(s.v), step: s.step });
    }
  }

  /** Frees the moment tensors (the parameters stay). */
  dispose(): void {
    for (const slot of this.#slots.values()) {
      this.#backend.free(slot.m);
      this.#backend.free(slot.v);
    }
    this.#slots.clear();
  }

  #newSlot(param: DeviceTensor): Slot {
    const zeros = () => this.#backend.upload(new Tensor('f32', param.shape));
    const slot = { m: zeros(), v: zeros(), step: 0 };
    this.#slots.set(param, slot);
    return slot;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
