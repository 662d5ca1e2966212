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
  /** Tensors made inside open {@link Tape.scope}s, in order. */
  readonly #made: DeviceTensor[] = [];
  #scopes = 0;
  /** Sees the inputs and saved tensors of every op (a checkpoint's probe collects what its block reads). */
  readonly #onInputs: ((inputs: readonly DeviceTensor[]) => void) | undefined;
  #done = false;

  constructor(backend: Backend, onInputs?: (inputs: readonly DeviceTensor[]) => void) {
    this.backend = backend;
    this.#onInputs = onInputs;
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
    if (this.#scopes > 0) this.#made.push(tensor);
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
    this.#onInputs?.([...inputs, ...saved]);
    if (!inputs.some((t) => this.#tracked.has(t))) return false;
    for (const t of outputs) this.#tracked.add(t);
    for (const t of saved) this.#saves.set(t, (this.#saves.get(t) ?? 0) + 1);
    this.#nodes.push({ inputs, outputs, saved, rule });
    return true;
  }

  /**
   * Runs `block` (ops on this tape) and then frees every tensor those ops
   * made that no recorded gradient rule reads and that `block` does not
   * return: intermediates nothing can use any more. A decoder layer run in
   * a scope leaves only its output and what its backward needs, instead of
   * every intermediate until the backward pass starts.
   */
  scope(block: () => DeviceTensor): DeviceTensor {
    const mark = this.#made.length;
    this.#scopes++;
    let output: DeviceTensor;
    try {
      output = block();
    } finally {
      this.#scopes--;
    }
    for (const t of this.#made.splice(mark)) if (t !== output && !this.#saves.has(t)) this.#release(t);
    if (this.#scopes > 0 && this.#owned.has(output)) this.#made.push(output);
    return output;
  }

  /**
   * Activation checkpointing of one block (a decoder layer): runs
   * `block(tape, input, false)` on a tape that records nothing, so that
   * only its output survives, and records one op whose gradient rule runs
   * `block(tape, input, true)` again on a fresh tape and propagates the
   * output's gradient through it ({@link Tape.backwardFrom}). The tape keeps
   * `input` (and the tensors of its own the block reads) for that; the
   * block's activations live only while its backward runs. Gradients reach `input` and every tracked tensor of this tape the
   * block reads (the LoRA factors), with the bits of the same block run
   * without checkpointing. `block` must compute the same values each time it
   * runs (the kernels are deterministic; dropout is keyed by its options),
   * on the tape it is given, and read no tracked tensor of this tape but
   * `input` and watched ones. `replay` is true on the second run (skip side
   * effects such as statistics there).
   */
  checkpoint(input: DeviceTensor, block: (tape: Tape, input: DeviceTensor, replay: boolean) => DeviceTensor): DeviceTensor {
    this.#assertOpen();
    // What the block reads of this tape: tracked tensors get gradients, owned ones (RoPE tables) must outlive the replay.
    const leaves = new Set<DeviceTensor>();
    const held = new Set<DeviceTensor>([input]);
    const probe = new Tape(this.backend, (read) => {
      for (const t of read) {
        if (t !== input && this.#tracked.has(t)) leaves.add(t);
        if (this.#owned.has(t)) held.add(t);
      }
    });
    let output: DeviceTensor;
    try {
      output = probe.keep(block(probe, input, false));
    } finally {
      probe.dispose();
    }
    this.own(output);
    const inputs = [input, ...leaves];
    this.record(inputs, [output], [...held], ([dy], needs) => {
      const replay = new Tape(this.backend);
      try {
        replay.watch(...inputs.filter((_, i) => needs[i]));
        const grads = replay.backwardFrom(block(replay, input, true), dy!);
        return inputs.map((t, i) => (needs[i] ? grads.get(t) : undefined));
      } finally {
        replay.dispose();
      }
    });
    return output;
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
    let seed: DeviceTensor | undefined;
    if (this.#tracked.has(loss)) {
      seed = this.own(this.backend.upload(new Tensor('f32', loss.shape, Float32Array.of(options.seed ?? 1))));
      this.#seeds.set(seed, options.seed ?? 1);
    }
    return this.#propagate(loss, seed);
  }

  /**
   * {@link Tape.backward} from a tensor of any shape, seeded with
   * `gradient` (of `output`'s shape, f32), which stays the caller's: the
   * backward of a block inside a larger pass (see {@link Tape.checkpoint}).
   * Throws `SHAPE_MISMATCH` when the shapes differ.
   */
  backwardFrom(output: DeviceTensor, gradient: DeviceTensor): Map<DeviceTensor, DeviceTensor> {
    this.#assertOpen();
    if (gradient.shape.length !== output.shape.length || gradient.shape.some((d, i) => d !== output.shape[i]))
      throw new LoraFuseError(
        'SHAPE_MISMATCH',
        `backwardFrom: the gradient [${gradient.shape.join(', ')}] must have the output's shape [${output.shape.join(', ')}].`,
      );
    return this.#propagate(output, this.#tracked.has(output) ? gradient : undefined, gradient);
  }

  /**
   * Propagates `seed`, the gradient of `output`, back through the recorded
   * ops; returns the watched tensors' gradients and ends the tape. `foreign`,
   * a seed the caller owns, is never freed here, even where a rule passes it
   * through as an input's gradient.
   */
  #propagate(output: DeviceTensor, seed: DeviceTensor | undefined, foreign?: DeviceTensor): Map<DeviceTensor, DeviceTensor> {
    const uses = this.#saves;
    // Forward intermediates no rule reads are dead already.
    for (const t of this.#owned) if (!uses.has(t) && t !== output && t !== seed) this.#release(t);

    const grads = new Map<DeviceTensor, DeviceTensor>();
    if (seed) grads.set(output, seed);
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
          if (g !== foreign) this.own(g);
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
    this.#made.length = 0;
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
