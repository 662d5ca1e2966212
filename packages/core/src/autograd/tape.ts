import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError } from '../errors/index.js';
import { Tensor, type Shape } from '../tensor/index.js';

/**
 * The gradient rule of one recorded op: given the gradients of its outputs
 * (`undefined` for an output nothing depended on), returns the gradient of
 * each input, or `undefined` where `needs[i]` is false. Returned tensors are
 * fresh; the tape owns and frees them.
 */
export type GradientRule = (dOutputs: readonly (DeviceTensor | undefined)[], needs: readonly boolean[]) => readonly (DeviceTensor | undefined)[];

/** One op on the tape. */
interface TapeNode {
  readonly inputs: readonly DeviceTensor[];
  readonly outputs: readonly DeviceTensor[];
  /** Tensors the rule reads; each is released once the rule has run. */
  readonly saved: readonly DeviceTensor[];
  readonly rule: GradientRule;
}

/** Options of {@link Tape.backward}. */
export interface BackwardOptions {
  /**
   * Seeds the backward pass with `seed · ∂loss` instead of `∂loss` (a loss
   * scale, or `1 / steps` for gradient accumulation). Default 1.
   */
  readonly seed?: number;
}

/**
 * Reverse-mode automatic differentiation over {@link Backend} kernels.
 *
 * Ops (see `ops`) run their kernel at once and, when one of their inputs
 * needs a gradient, record a node with its gradient rule and the tensors
 * that rule will read. Only tensors passed to {@link Tape.watch} (the
 * trainable parameters) and results computed from them need gradients:
 * work on frozen tensors alone (the base weights, the embeddings of a
 * LoRA model) records nothing and never gets a gradient buffer.
 *
 * The tape owns every tensor its ops produce. {@link Tape.backward} frees
 * each saved tensor as soon as the last rule reading it has run, and every
 * other intermediate when it finishes; {@link Tape.keep} hands a result to
 * the caller instead. {@link Tape.dispose} frees what is left (a forward
 * pass without backward). A tape is used once.
 */
export class Tape {
  /** The backend every op of this tape runs on. */
  readonly backend: Backend;
  readonly #watched = new Set<DeviceTensor>();
  readonly #tracked = new Set<DeviceTensor>();
  readonly #owned = new Set<DeviceTensor>();
  readonly #nodes: TapeNode[] = [];
  readonly #seeds = new Map<DeviceTensor, number>();
  /** How many recorded rules read each saved tensor. */
  readonly #saves = new Map<DeviceTensor, number>();
  readonly #ones = new Map<string, DeviceTensor>();
  #done = false;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** Marks tensors as trainable: {@link Tape.backward} returns their gradients. Call before the ops that use them. */
  watch(...tensors: DeviceTensor[]): void {
    this.#assertOpen();
    for (const t of tensors) {
      if (t.dtype !== 'f32')
        throw new LoraFuseError('DTYPE_MISMATCH', `Only f32 tensors can be trained; got ${t.dtype} [${t.shape.join(', ')}] (cast it first).`, {
          details: { dtype: t.dtype },
        });
      this.#watched.add(t);
      this.#tracked.add(t);
    }
  }

  /** True when a gradient flows to `tensor` (it is watched or computed from a watched tensor). */
  requiresGrad(tensor: DeviceTensor): boolean {
    return this.#tracked.has(tensor);
  }

  /** Takes ownership of a tensor an op produced (freed by backward or dispose unless kept). */
  own<T extends DeviceTensor>(tensor: T): T {
    this.#assertOpen();
    this.#owned.add(tensor);
    return tensor;
  }

  /** Uploads a host tensor the tape owns (constants of gradient rules, such as ones). */
  constant(tensor: Tensor): DeviceTensor {
    return this.own(this.backend.upload(tensor));
  }

  /** An f32 tensor of ones the tape owns (one per shape, shared by the rules that ask for it). */
  ones(shape: Shape): DeviceTensor {
    const key = shape.join(',');
    let t = this.#ones.get(key);
    if (t === undefined || !this.#owned.has(t)) {
      t = this.constant(new Tensor('f32', shape, new Float32Array(shape.reduce((n, d) => n * d, 1)).fill(1)));
      this.#ones.set(key, t);
    }
    return t;
  }

  /**
   * Records an op whose outputs the tape already owns, if any input needs a
   * gradient; otherwise records nothing (and `saved` may be freed by the
   * caller's pass as any other intermediate). Returns whether it recorded.
   */
  record(inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], saved: readonly DeviceTensor[], rule: GradientRule): boolean {
    this.#assertOpen();
    if (!inputs.some((t) => this.#tracked.has(t))) return false;
    for (const t of outputs) this.#tracked.add(t);
    for (const t of saved) this.#saves.set(t, (this.#saves.get(t) ?? 0) + 1);
    this.#nodes.push({ inputs, outputs, saved, rule });
    return true;
  }

  /** True while a recorded gradient rule will still read `tensor` (an activation kept for backward). */
  isSaved(tensor: DeviceTensor): boolean {
    return this.#saves.has(tensor);
  }

  /**
   * The value of a gradient that is the backward pass's seed (the gradient
   * of the loss itself), known on the host; `undefined` for any other
   * tensor. Lets a rule fold the seed into a kernel's scale argument
   * instead of reading the device.
   */
  seedValue(gradient: DeviceTensor): number | undefined {
    return this.#seeds.get(gradient);
  }

  /** Hands `tensor` to the caller: the tape no longer frees it (the caller does). Returns it. */
  keep(tensor: DeviceTensor): DeviceTensor {
    this.#owned.delete(tensor);
    return tensor;
  }

  /**
   * Gradients of the scalar `loss` with respect to every watched tensor
   * (a watched tensor `loss` does not depend on gets none). The returned
   * gradients belong to the caller; every intermediate not kept is freed,
   * each saved tensor as soon as the last rule reading it has run.
   *
   * Throws `SHAPE_MISMATCH` when `loss` is not a scalar and
   * `INVALID_OPTION` when the tape was already used.
   */
  backward(loss: DeviceTensor, options: BackwardOptions = {}): Map<DeviceTensor, DeviceTensor> {
    this.#assertOpen();
    if (loss.size !== 1)
      throw new LoraFuseError('SHAPE_MISMATCH', `backward needs a scalar loss; got shape [${loss.shape.join(', ')}].`, { details: { shape: [...loss.shape] } });
    const uses = this.#saves;
    // Forward intermediates no rule reads are dead already.
    for (const t of this.#owned) if (!uses.has(t) && t !== loss) this.#release(t);

    const grads = new Map<DeviceTensor, DeviceTensor>();
    if (this.#tracked.has(loss)) {
      const seed = this.own(this.backend.upload(new Tensor('f32', loss.shape, Float32Array.of(options.seed ?? 1))));
      this.#seeds.set(seed, options.seed ?? 1);
      grads.set(loss, seed);
    }
    for (let i = this.#nodes.length - 1; i >= 0; i--) {
      const node = this.#nodes[i];
      const dOutputs = node.outputs.map((t) => grads.get(t));
      if (dOutputs.some((g) => g !== undefined)) {
        const needs = node.inputs.map((t) => this.#tracked.has(t));
        const dInputs = node.rule(dOutputs, needs);
        // The outputs' gradients are spent, except one a rule passed through as an input's (add).
        for (const t of node.outputs) {
          const dy = grads.get(t);
          if (dy === undefined || this.#watched.has(t)) continue;
          grads.delete(t);
          if (!dInputs.includes(dy)) this.#release(dy);
        }
        node.inputs.forEach((t, k) => {
          const g = dInputs[k];
          if (g === undefined || !needs[k]) return;
          this.own(g);
          const prior = grads.get(t);
          if (prior === undefined) grads.set(t, g);
          else {
            grads.set(t, this.own(this.backend.kernels.add(prior, g)));
            this.#release(prior);
            this.#release(g);
          }
        });
      }
      for (const t of node.saved) {
        const left = (uses.get(t) ?? 1) - 1;
        if (left > 0) uses.set(t, left);
        else {
          uses.delete(t);
          this.#release(t);
        }
      }
    }
    const result = new Map<DeviceTensor, DeviceTensor>();
    for (const t of this.#watched) {
      const g = grads.get(t);
      if (g !== undefined) result.set(t, this.keep(g));
    }
    this.dispose();
    return result;
  }

  /** Frees every tensor the tape still owns and ends it. Idempotent. */
  dispose(): void {
    for (const t of this.#owned) this.backend.free(t);
    this.#owned.clear();
    this.#nodes.length = 0;
    this.#tracked.clear();
    this.#watched.clear();
    this.#seeds.clear();
    this.#saves.clear();
    this.#ones.clear();
    this.#done = true;
  }

  /** Frees an owned tensor now (tensors the caller gave the tape, such as parameters, are never freed). */
  #release(t: DeviceTensor): void {
    if (this.#owned.delete(t)) this.backend.free(t);
  }

  #assertOpen(): void {
    if (this.#done) throw new LoraFuseError('INVALID_OPTION', 'This tape was already used for backward (or disposed); record the next pass on a new Tape.');
  }
}
