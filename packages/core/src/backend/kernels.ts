import type { Shape } from '../tensor/index.js';
import type { DeviceTensor } from './device-tensor.js';
import type { selectionKey } from './selection-key.js';

/**
 * The kernel contract every backend implements.
 *
 * General rules, for every kernel:
 * - Tensors are row-major. Compute is f32: every f32 result must be within
 *   the conformance tolerance of the float64 result (the reference backend
 *   accumulates in float64 and rounds once to f32).
 * - Inputs are f32 unless a kernel says otherwise. Kernels that take a base
 *   weight (`matmul`'s `b`, `loraLinear`'s `w0`, `embedding`'s `table`)
 *   also accept f16 and bf16 and widen the values exactly.
 * - Kernels are issued synchronously and are out of place: they return new
 *   handles and leave their inputs untouched. The exceptions, `adamwStep` and
 *   `maskApply`, are marked in place; they return nothing.
 * - NaN and infinities propagate as IEEE arithmetic says; no kernel flushes
 *   NaN to a number or clamps infinities unless stated.
 * - Argument problems throw synchronously, before any work is queued:
 *   `SHAPE_MISMATCH` (shapes), `DTYPE_MISMATCH` (dtypes), `INVALID_OPTION`
 *   (scalars and options), `TENSOR_DISPOSED` (freed or foreign handles),
 *   `BACKEND_DISPOSED` (the backend was disposed). The checks are shared:
 *   see the `*Geometry` functions, which every backend calls.
 * - Empty tensors (a zero dimension) are valid everywhere and give empty or
 *   zero results as the definitions imply.
 */
export interface Kernels {
  /**
   * Batched matrix product `op(a) · op(b)`.
   *
   * `a` is `[...batch, M, K]` (`[...batch, K, M]` with `transA`), `b` is
   * `[...batch, K, N]` (`[...batch, N, K]` with `transB`; a Linear weight
   * `[out, in]` is used with `transB: true`). Both have rank ≥ 2. The batch
   * dimensions must be equal, or one side has none and is shared by every
   * batch. Result: f32 `[...batch, M, N]`; with `K = 0` it is all zeros.
   * `a` is f32; `b` may be f32, f16 or bf16.
   */
  matmul(a: DeviceTensor, b: DeviceTensor, options?: MatmulOptions): DeviceTensor;

  /**
   * Fused LoRA linear layer `x·W0ᵀ + scale·(x·Aᵀ)·Bᵀ`.
   *
   * `x` `[..., in]` f32; `w0` `[out, in]` f32/f16/bf16; `a` `[r, in]` f32;
   * `b` `[out, r]` f32; `scale` finite (PEFT's `alpha / r`). Result: f32
   * `[..., out]`. `r = 0` gives the base layer alone.
   */
  loraLinear(x: DeviceTensor, w0: DeviceTensor, a: DeviceTensor, b: DeviceTensor, scale: number): DeviceTensor;

  /**
   * `a + b`. `b` has the shape of `a` or a suffix of it (a bias `[n]` added to
   * `[..., n]`) and is repeated over the leading dimensions. Result: f32, shape of `a`.
   */
  add(a: DeviceTensor, b: DeviceTensor): DeviceTensor;

  /** `a ⊙ b`, with the shapes of {@link Kernels.add}. */
  mul(a: DeviceTensor, b: DeviceTensor): DeviceTensor;

  /** `factor · x` for a finite `factor` (0 · NaN stays NaN). */
  scale(x: DeviceTensor, factor: number): DeviceTensor;

  /**
   * `|x|`, elementwise and exact (the sign bit cleared): NaN stays NaN,
   * `|−0| = +0`, `|−Inf| = +Inf`. Magnitude-based importance metrics use it.
   */
  abs(x: DeviceTensor): DeviceTensor;

  /**
   * `√x`, elementwise, correctly rounded (IEEE 754 square root of an f32):
   * bit-exact on every backend, equal to `Math.fround(Math.sqrt(x))`.
   * `√−0 = −0`, `√+Inf = +Inf`; a negative number or NaN gives NaN (its
   * sign and payload are not specified). Activation norms use it on the
   * device.
   */
  sqrt(x: DeviceTensor): DeviceTensor;

  /**
   * Converts between the float dtypes `f32`, `f16` and `bf16`, rounding to
   * nearest, ties to even. NaN stays NaN (its sign and payload are not
   * specified), infinities, signed zeros and subnormals are preserved,
   * overflow gives ±Inf. Every other result is bit-exact on every backend.
   */
  cast(x: DeviceTensor, dtype: 'f32' | 'f16' | 'bf16'): DeviceTensor;

  /** SiLU, `x · σ(x)` with `σ(x) = 1 / (1 + e^(−x))`. */
  silu(x: DeviceTensor): DeviceTensor;

  /** Gradient of {@link Kernels.silu}: `dy · σ(x) · (1 + x · (1 − σ(x)))`. `x` and `dy` have one shape. */
  siluBackward(x: DeviceTensor, dy: DeviceTensor): DeviceTensor;

  /** SwiGLU, `silu(gate) ⊙ up` (Llama's MLP); `gate` and `up` have one shape. */
  swiglu(gate: DeviceTensor, up: DeviceTensor): DeviceTensor;

  /**
   * Gradient of {@link Kernels.swiglu}: `dGate = dy ⊙ up ⊙ silu'(gate)`,
   * `dUp = dy ⊙ silu(gate)`. All three inputs have one shape.
   */
  swigluBackward(gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): SwigluGrads;

  /**
   * GeGLU, `gelu(gate) ⊙ up` (Gemma's MLP), with the tanh approximation of
   * GELU (PyTorch's `gelu(approximate='tanh')`, `gelu_pytorch_tanh`):
   * `gelu(x) = ½·x·(1 + tanh(u))` with `u = √(2/π)·(x + 0.044715·x³)`,
   * which equals `x·σ(2u)`. `gate` and `up` have one shape.
   */
  geglu(gate: DeviceTensor, up: DeviceTensor): DeviceTensor;

  /**
   * Gradient of {@link Kernels.geglu}: `dGate = dy ⊙ up ⊙ gelu'(gate)`,
   * `dUp = dy ⊙ gelu(gate)`, with
   * `gelu'(x) = ½·(1 + tanh(u)) + ½·x·(1 − tanh²(u))·√(2/π)·(1 + 3·0.044715·x²)`.
   * All three inputs have one shape.
   */
  gegluBackward(gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): GegluGrads;

  /**
   * Soft-capping, `cap · tanh(x / cap)` for a finite `cap > 0` (Gemma's
   * final logits): values pass almost unchanged near 0 and saturate at
   * `±cap`; `±Inf` gives `±cap`, NaN stays NaN.
   */
  softcap(x: DeviceTensor, cap: number): DeviceTensor;

  /**
   * Gradient of {@link Kernels.softcap} from its output `y` (so the input
   * need not be kept): `dx = dy ⊙ (1 − (y / cap)²)`. `y` and `dy` have one shape.
   */
  softcapBackward(y: DeviceTensor, dy: DeviceTensor, cap: number): DeviceTensor;

  /**
   * RMSNorm as Hugging Face Llama: over the last dimension `D`,
   * `y = weight ⊙ x / sqrt(mean(x²) + eps)`. `x` `[..., D]`, `weight` `[D]`,
   * `eps ≥ 0`.
   */
  rmsNorm(x: DeviceTensor, weight: DeviceTensor, eps: number): DeviceTensor;

  /**
   * Gradient of {@link Kernels.rmsNorm} given `dy` (shape of `x`), with
   * `r = 1 / sqrt(mean(x²) + eps)` per row, `x̂ = x·r`, `g = dy ⊙ weight`:
   * `dx = r · (g − x̂ · mean(g ⊙ x̂))`, `dWeight = Σ_rows dy ⊙ x̂` (`[D]`).
   */
  rmsNormBackward(x: DeviceTensor, weight: DeviceTensor, dy: DeviceTensor, eps: number): RmsNormGrads;

  /**
   * Rotary embedding as Hugging Face Llama (`rotate_half`):
   * `y = x ⊙ cos + rotate_half(x) ⊙ sin` with `rotate_half([x₁, x₂]) = [−x₂, x₁]`
   * on the two halves of the last dimension.
   *
   * `x` `[batch, heads, seq, D]` with `D` even. `cos` and `sin` have one shape,
   * `[seq, D]` (shared by the batch) or `[batch, seq, D]`; core computes them
   * (including the duplicated halves of HF's `cat(freqs, freqs)`).
   */
  rope(x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor;

  /**
   * Gradient of {@link Kernels.rope}: `dx = dy ⊙ cos + rotate_halfᵀ(dy ⊙ sin)`
   * with `rotate_halfᵀ([g₁, g₂]) = [g₂, −g₁]`. Shapes as for `rope`.
   */
  ropeBackward(dy: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor;

  /**
   * Causal scaled-dot-product attention with grouped-query heads.
   *
   * `q` `[B, H, Sq, D]`; `k`, `v` `[B, KV, Sk, D]` with `H` a multiple of `KV`
   * and `Sq ≤ Sk`; with `layout: 'bshd'` the sequence axis comes before the
   * heads instead (`q` `[B, Sq, H, D]`, `k`, `v` `[B, Sk, KV, D]`, `out` in
   * `q`'s layout), which is how a Linear layer's output reshapes. Query head `h` reads key/value head `floor(h / (H / KV))`.
   * Query `i` attends to keys `j ≤ i + (Sk − Sq)` (the queries are the last
   * `Sq` positions; `Sq = Sk` is the usual causal mask); with a `window`
   * it also skips the keys `window` or more positions behind it,
   * `j ≤ i + (Sk − Sq) − window` (sliding-window attention). Scores are
   * `scale · q·kᵀ` (`scale` defaults to `1/√D`), softmax over the allowed keys.
   * Returns `out` `[B, H, Sq, D]` (the shape of `q`) and `lse` `[B, H, Sq]` (in both layouts), the natural-log
   * sum of exponentials of each query's scaled scores, for the backward pass.
   */
  attention(q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options?: AttentionOptions): AttentionResult;

  /**
   * Gradient of {@link Kernels.attention}. With `P = exp(scale·q·kᵀ − lse)`
   * (masked entries 0) and `δᵢ = Σ_d dOutᵢ ⊙ outᵢ`:
   * `dv = Pᵀ·dOut`, `dS = P ⊙ (dOut·vᵀ − δ)`, `dq = scale · dS·k`,
   * `dk = scale · dSᵀ·q`; `dk` and `dv` sum over the query heads of each
   * group and have the shape of `k`/`v`.
   */
  attentionBackward(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    out: DeviceTensor,
    lse: DeviceTensor,
    dOut: DeviceTensor,
    options?: AttentionOptions,
  ): AttentionGrads;

  /**
   * Softmax cross-entropy over the last dimension.
   *
   * `logits` `[..., V]` f32 (`V ≥ 1`); `targets` i32 with the leading shape.
   * A target of −100 is ignored (Hugging Face); any other target outside
   * `[0, V)` makes that row's loss NaN. `loss` (shape `[]`) is the mean of
   * `lse − logit[target]` over the rows that are not ignored, NaN when every
   * row is ignored; `lse` holds each row's log-sum-exp (every row).
   */
  crossEntropy(logits: DeviceTensor, targets: DeviceTensor): CrossEntropyResult;

  /**
   * Gradient of `scale · loss` of {@link Kernels.crossEntropy}: for a counted
   * row, `scale · (softmax(logits) − onehot(target)) / count`; ignored rows
   * get zeros, rows with an out-of-range target NaN. `lse` is the forward's.
   */
  crossEntropyBackward(logits: DeviceTensor, targets: DeviceTensor, lse: DeviceTensor, scale: number): DeviceTensor;

  /**
   * Embedding lookup: `out[..., :] = table[ids[...], :]`. `ids` i32 (any
   * shape); `table` `[V, D]` f32/f16/bf16. Result f32 `[...ids.shape, D]`; an
   * id outside `[0, V)` gives a row of NaN.
   */
  embedding(ids: DeviceTensor, table: DeviceTensor): DeviceTensor;

  /**
   * Gradient of {@link Kernels.embedding} with respect to the table: a
   * scatter-add of the rows of `dy` `[...ids.shape, D]` into a zeroed
   * `[vocabSize, D]`. Ids outside `[0, vocabSize)` contribute nothing.
   */
  embeddingBackward(ids: DeviceTensor, dy: DeviceTensor, vocabSize: number): DeviceTensor;

  /** Sum of all elements, shape `[]` (0 for an empty tensor). */
  sum(x: DeviceTensor): DeviceTensor;

  /**
   * Per-column sum of squares of `x` `[..., C]` over all leading dimensions,
   * shape `[C]` (activation statistics: the squared L2 norm of each input feature).
   */
  columnSumSquares(x: DeviceTensor): DeviceTensor;

  /** Global L2 norm `sqrt(Σ_t Σ_i t_i²)` over a list of f32 tensors, shape `[]` (0 for none). */
  globalNorm(tensors: readonly DeviceTensor[]): DeviceTensor;

  /**
   * One step of `torch.optim.AdamW`, **in place** on `param`, `m` and `v`
   * (all f32, one shape with `grad`). With `g = gradScale · grad` and step
   * number `t ≥ 1`:
   * `param ← param − lr·weightDecay·param`; `m ← β₁·m + (1−β₁)·g`;
   * `v ← β₂·v + (1−β₂)·g²`;
   * `param ← param − (lr / (1−β₁ᵗ)) · m / (sqrt(v) / sqrt(1−β₂ᵗ) + eps)`.
   * With `guard`, values still on the device decide the step (see {@link AdamwGuard}).
   */
  adamwStep(param: DeviceTensor, grad: DeviceTensor, m: DeviceTensor, v: DeviceTensor, options: AdamwOptions): void;

  /**
   * Importance of the LoRA factor entries: the gradient magnitude of
   * `S = Σ |B·A| ⊙ n` (n broadcast over rows). With `W = B·A` `[out, in]`
   * and `sign(0) = 0`:
   * `I(A_kj) = n_j · |Σ_i sign(W_ij) · B_ik|`,
   * `I(B_ik) = |Σ_j sign(W_ij) · A_kj · n_j|`.
   * `a` `[r, in]`, `b` `[out, r]`, `n` `[in]` (input-feature norms), all f32.
   * Returns scores with the shapes of `a` and `b`.
   */
  loraImportance(a: DeviceTensor, b: DeviceTensor, n: DeviceTensor): LoraImportanceResult;

  /**
   * Pruning selection: for each row (group) of `scores` `[G, n]`, marks the
   * `k` lowest scores with 1 in a u8 mask `[G, n]` (0 = kept). Order: NaN
   * (any) lowest, then −Inf … +Inf, with −0 equal to +0; ties go by index,
   * lower index pruned first. `0 ≤ k ≤ n`. Implementations select in O(n)
   * (histogram/radix select on {@link selectionKey}), not by sorting.
   */
  bottomKMask(scores: DeviceTensor, k: number): DeviceTensor;

  /**
   * **In place** on `param` (f32): where `mask` (u8) is non-zero the entry
   * is set to 0, or to the matching entry of `init` (shape of `param`) when
   * given. `mask` is matched element by element in row-major order and must
   * have as many elements as `param` (its shape may differ, e.g. `[1, r·in]`).
   */
  maskApply(param: DeviceTensor, mask: DeviceTensor, init?: DeviceTensor): void;

  /**
   * Uniform f32 in `[0, 1)`: element `i` is `(u >>> 8) · 2⁻²⁴` where `u` is
   * word 0 of Philox4x32-10 with counter `[c lo32, c hi32, 0, 0]`,
   * `c = offset + i`, and key `[seed, stream]`. Bit-exact on every backend.
   */
  randomUniform(shape: Shape, options: RandomOptions): DeviceTensor;

  /**
   * Normal f32 by Box–Muller on consecutive pairs of the uniform stream of
   * {@link Kernels.randomUniform}: for absolute index `c = offset + i` and
   * `p = floor(c / 2)`, with `u₁ = U(2p)`, `u₂ = U(2p + 1)`,
   * `ρ = sqrt(−2·ln(1 − u₁))` and `θ = 2π·u₂`, the value is `ρ·cos θ` for even
   * `c` and `ρ·sin θ` for odd `c`; then `mean + std · value`.
   */
  randomNormal(shape: Shape, options: NormalOptions): DeviceTensor;

  /**
   * Inverted dropout of `x` (f32, any shape; the result has its shape). With
   * `uᵢ` the value {@link Kernels.randomUniform} gives at counter
   * `offset + i` for key `[seed, stream]`, element `i` is kept when
   * `uᵢ ≥ p` and becomes `fround(xᵢ · scale)` with the f32
   * `scale = fround(1 / (1 − p))` (computed once on the host); a dropped
   * element is `+0`, whatever `xᵢ` was (NaN included). `p = 0` copies `x`.
   * Bit-exact on every backend. The mask depends only on the options, so
   * the gradient is this kernel applied to `dy` with the same options.
   */
  dropout(x: DeviceTensor, options: DropoutOptions): DeviceTensor;

  /**
   * The same elements under another shape with the same element count (any
   * dtype). The result may be a view sharing `x`'s storage (the built-in
   * backends make one: no copy, no new memory; the storage lives until both
   * handles are freed), so an in-place kernel on either changes both.
   */
  reshape(x: DeviceTensor, shape: Shape): DeviceTensor;

  /**
   * Transposes dimensions (any dtype): result dimension `i` is input
   * dimension `axes[i]`, as `torch.permute`.
   */
  permute(x: DeviceTensor, axes: readonly number[]): DeviceTensor;

  /**
   * Joins `a` and `b` (any dtype, the same for both) along dimension `axis`,
   * as `torch.cat([a, b], axis)`: the shapes agree everywhere but at `axis`,
   * and the result's `axis` has `a`'s size plus `b`'s, `a`'s elements first.
   * Bit-exact. The KV cache of generation appends each step's keys and
   * values with it.
   */
  concat(a: DeviceTensor, b: DeviceTensor, axis: number): DeviceTensor;

  /**
   * The `length` entries of `x` (any dtype) from `start` along dimension
   * `axis`, as `torch.narrow(x, axis, start, length)`: the result has `x`'s
   * shape with `length` at `axis`; `0 ≤ start ≤ start + length ≤ x.shape[axis]`.
   * Bit-exact. A fused projection (Phi-3's `qkv_proj`) is split with it.
   */
  slice(x: DeviceTensor, axis: number, start: number, length: number): DeviceTensor;
}

/** The name of a kernel of the contract. */
export type KernelName = keyof Kernels;

/** Options of {@link Kernels.matmul}. */
export interface MatmulOptions {
  /** Use `a`'s last two dimensions transposed. */
  readonly transA?: boolean;
  /** Use `b`'s last two dimensions transposed (`x·Wᵀ` for a Linear weight `W`). */
  readonly transB?: boolean;
}

/** Options of {@link Kernels.attention} and its backward. */
export interface AttentionOptions {
  /** Score scale, finite; default `1/√D`. */
  readonly scale?: number;
  /**
   * Sliding attention window, an integer ≥ 1: each query sees itself and
   * the `window − 1` keys before it at most (Hugging Face's
   * `sliding_window`). Default: every earlier key.
   */
  readonly window?: number;
  /**
   * Axis order of `q`, `k`, `v` and of `out` and the gradients: `'bhsd'`
   * (default) is `[batch, heads, seq, D]`, `'bshd'` is `[batch, seq, heads, D]`.
   * `lse` is `[B, H, Sq]` in both.
   */
  readonly layout?: AttentionLayout;
}

/** Axis order of attention operands: see {@link AttentionOptions.layout}. */
export type AttentionLayout = 'bhsd' | 'bshd';

/** Outputs of {@link Kernels.attention}. */
export interface AttentionResult {
  /** The shape of `q`. */
  readonly out: DeviceTensor;
  /** `[B, H, Sq]`: log-sum-exp of each query's scaled scores. */
  readonly lse: DeviceTensor;
}

/** Outputs of {@link Kernels.attentionBackward}. */
export interface AttentionGrads {
  /** Shape of `q`. */
  readonly dq: DeviceTensor;
  /** Shape of `k`. */
  readonly dk: DeviceTensor;
  /** Shape of `v`. */
  readonly dv: DeviceTensor;
}

/** Outputs of {@link Kernels.rmsNormBackward}. */
export interface RmsNormGrads {
  /** Shape of `x`. */
  readonly dx: DeviceTensor;
  /** `[D]`. */
  readonly dWeight: DeviceTensor;
}

/** Outputs of {@link Kernels.swigluBackward}. */
export interface SwigluGrads {
  /** Shape of `gate`. */
  readonly dGate: DeviceTensor;
  /** Shape of `up`. */
  readonly dUp: DeviceTensor;
}

/** Outputs of {@link Kernels.gegluBackward}: the gradients of the gate and of the up projection, as for SwiGLU. */
export type GegluGrads = SwigluGrads;

/** Outputs of {@link Kernels.crossEntropy}. */
export interface CrossEntropyResult {
  /** `[]`: mean loss over the rows that are not ignored. */
  readonly loss: DeviceTensor;
  /** Leading shape of the logits: each row's log-sum-exp. */
  readonly lse: DeviceTensor;
}

/** Outputs of {@link Kernels.loraImportance}. */
export interface LoraImportanceResult {
  /** Scores of `A`'s entries, `[r, in]`. */
  readonly a: DeviceTensor;
  /** Scores of `B`'s entries, `[out, r]`. */
  readonly b: DeviceTensor;
}

/** Hyper-parameters of one {@link Kernels.adamwStep}. */
export interface AdamwOptions {
  /** Learning rate, finite and ≥ 0. */
  readonly lr: number;
  /** β₁ in `[0, 1)`. */
  readonly beta1: number;
  /** β₂ in `[0, 1)`. */
  readonly beta2: number;
  /** Added after the square root; finite and ≥ 0. */
  readonly eps: number;
  /** Decoupled weight decay, finite and ≥ 0. */
  readonly weightDecay: number;
  /** Step number for bias correction, an integer ≥ 1 (1 on the first step). */
  readonly step: number;
  /** Multiplies the gradient first (gradient clipping, accumulation); finite, default 1. */
  readonly gradScale?: number;
  /** Lets device values skip or clip the step, so that a trainer need not read them first. */
  readonly guard?: AdamwGuard;
}

/**
 * Device values that decide an {@link Kernels.adamwStep}, read by the kernel
 * itself: a trainer can queue the step before the loss and the gradient norm
 * reach the host, and learn afterwards what happened. Unless `norm` and
 * `loss` are both finite the step changes nothing (param, m and v keep their
 * values); with `maxNorm` the gradient is also multiplied by
 * `min(1, maxNorm / (norm + 1e-6))`, global-norm clipping as
 * `torch.nn.utils.clip_grad_norm_` does it.
 */
export interface AdamwGuard {
  /** The global gradient norm, f32 of one element (as {@link Kernels.globalNorm} returns it). */
  readonly norm: DeviceTensor;
  /** The step's loss, f32 of one element; only whether it is finite counts. */
  readonly loss: DeviceTensor;
  /** Clips the gradient to this global norm; finite and > 0. */
  readonly maxNorm?: number;
}

/** Stream selection for the counter-based generator. */
export interface RandomOptions {
  /** Key word 0: an integer in `[0, 2³²)`. */
  readonly seed: number;
  /** Key word 1: an integer in `[0, 2³²)`, separating independent streams of one seed. */
  readonly stream: number;
  /** Counter of the first element, a safe integer ≥ 0 (default 0), to continue a stream. */
  readonly offset?: number;
}

/** Options of {@link Kernels.dropout}: the stream of the mask and the drop probability. */
export interface DropoutOptions extends RandomOptions {
  /** The probability of dropping an element: a finite number in `[0, 1)`. */
  readonly p: number;
}

/** Options of {@link Kernels.randomNormal}. */
export interface NormalOptions extends RandomOptions {
  /** Default 0; finite. */
  readonly mean?: number;
  /** Default 1; finite. */
  readonly std?: number;
}
