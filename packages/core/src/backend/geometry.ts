// Argument checks of the kernel contract, shared by every backend so that a
// bad call fails the same way everywhere. Each function validates one
// kernel's arguments and returns the sizes an implementation needs.

import { LoraFuseError } from '../errors/index.js';
import { checkShape, shapeSize, type DType, type Shape } from '../tensor/index.js';
import type {
  AdamwGuard,
  AdamwOptions,
  AttentionLayout,
  AttentionOptions,
  DropoutOptions,
  KernelName,
  Kernels,
  MatmulOptions,
  NormalOptions,
  RandomOptions,
} from './kernels.js';

/** What the checks need to know of a tensor (a `DeviceTensor` or a host `Tensor`). */
export interface OperandInfo {
  readonly shape: Shape;
  readonly dtype: DType;
}

type FloatDType = 'f32' | 'f16' | 'bf16';
const WEIGHT_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];
const U32_LIMIT = 2 ** 32;

function shapeError(kernel: KernelName, message: string, details: Record<string, unknown> = {}): LoraFuseError {
  return new LoraFuseError('SHAPE_MISMATCH', `${kernel}: ${message}`, { details: { kernel, ...details } });
}

function optionError(kernel: KernelName, message: string, details: Record<string, unknown> = {}): LoraFuseError {
  return new LoraFuseError('INVALID_OPTION', `${kernel}: ${message}`, { details: { kernel, ...details } });
}

const fmt = (shape: Shape) => `[${shape.join(', ')}]`;
const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

function requireDtype(kernel: KernelName, name: string, t: OperandInfo, allowed: readonly DType[] = ['f32']): void {
  if (!allowed.includes(t.dtype)) {
    throw new LoraFuseError('DTYPE_MISMATCH', `${kernel}: ${name} must be ${allowed.join(' or ')}, got ${t.dtype}.`, {
      details: { kernel, argument: name, dtype: t.dtype, allowed: [...allowed] },
    });
  }
}

function requireRank(kernel: KernelName, name: string, t: OperandInfo, rank: number, atLeast = false): void {
  if (atLeast ? t.shape.length < rank : t.shape.length !== rank) {
    throw shapeError(kernel, `${name} must have rank ${atLeast ? `≥ ${rank}` : rank}, got ${fmt(t.shape)}.`, { argument: name, shape: [...t.shape] });
  }
}

function requireShape(kernel: KernelName, name: string, t: OperandInfo, expected: Shape): void {
  if (!sameShape(t.shape, expected)) {
    throw shapeError(kernel, `${name} must have shape ${fmt(expected)}, got ${fmt(t.shape)}.`, {
      argument: name,
      shape: [...t.shape],
      expected: [...expected],
    });
  }
}

function requireFinite(kernel: KernelName, name: string, value: number, min = -Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw optionError(kernel, `${name} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ''}, got ${String(value)}.`, { option: name, value });
  }
}

function requireInteger(kernel: KernelName, name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw optionError(kernel, `${name} must be an integer in [${min}, ${max}], got ${String(value)}.`, { option: name, value });
  }
}

/** Sizes of a {@link Kernels.matmul} call. */
export interface MatmulGeometry {
  /** Number of matrix products. */
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** Elements between consecutive batch matrices of `a` (0 when `a` is shared). */
  readonly aBatchStride: number;
  /** Elements between consecutive batch matrices of `b` (0 when `b` is shared). */
  readonly bBatchStride: number;
  /** Result shape. */
  readonly shape: Shape;
}

/** Checks {@link Kernels.matmul}'s arguments. */
export function matmulGeometry(a: OperandInfo, b: OperandInfo, options: MatmulOptions = {}): MatmulGeometry {
  requireDtype('matmul', 'a', a);
  requireDtype('matmul', 'b', b, WEIGHT_DTYPES);
  requireRank('matmul', 'a', a, 2, true);
  requireRank('matmul', 'b', b, 2, true);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = options.transA ? [ac, ar] : [ar, ac];
  const [kb, n] = options.transB ? [bc, br] : [br, bc];
  if (k !== kb) {
    throw shapeError('matmul', `inner dimensions differ: a ${fmt(a.shape)}${options.transA ? 'ᵀ' : ''} · b ${fmt(b.shape)}${options.transB ? 'ᵀ' : ''}.`, {
      a: [...a.shape],
      b: [...b.shape],
    });
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length > 0 && bBatch.length > 0 && !sameShape(aBatch, bBatch)) {
    throw shapeError('matmul', `batch dimensions differ: ${fmt(aBatch)} vs ${fmt(bBatch)}.`, { a: [...a.shape], b: [...b.shape] });
  }
  const batchShape = aBatch.length > 0 ? aBatch : bBatch;
  return {
    batch: shapeSize(batchShape),
    m,
    k,
    n,
    aBatchStride: aBatch.length > 0 ? m * k : 0,
    bBatchStride: bBatch.length > 0 ? k * n : 0,
    shape: [...batchShape, m, n],
  };
}

/** Sizes of a {@link Kernels.loraLinear} call. */
export interface LoraLinearGeometry {
  /** Rows of `x` (product of its leading dimensions). */
  readonly rows: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly rank: number;
  /** Result shape. */
  readonly shape: Shape;
}

/** Checks {@link Kernels.loraLinear}'s arguments. */
export function loraLinearGeometry(x: OperandInfo, w0: OperandInfo, a: OperandInfo, b: OperandInfo, scale: number): LoraLinearGeometry {
  requireDtype('loraLinear', 'x', x);
  requireDtype('loraLinear', 'w0', w0, WEIGHT_DTYPES);
  requireDtype('loraLinear', 'a', a);
  requireDtype('loraLinear', 'b', b);
  requireRank('loraLinear', 'x', x, 1, true);
  requireRank('loraLinear', 'w0', w0, 2);
  requireRank('loraLinear', 'a', a, 2);
  requireRank('loraLinear', 'b', b, 2);
  requireFinite('loraLinear', 'scale', scale);
  const inFeatures = x.shape[x.shape.length - 1];
  const [outFeatures] = w0.shape;
  const rank = a.shape[0];
  requireShape('loraLinear', 'w0', w0, [outFeatures, inFeatures]);
  requireShape('loraLinear', 'a', a, [rank, inFeatures]);
  requireShape('loraLinear', 'b', b, [outFeatures, rank]);
  const lead = x.shape.slice(0, -1);
  return { rows: shapeSize(lead), inFeatures, outFeatures, rank, shape: [...lead, outFeatures] };
}

/** Sizes of a broadcasting elementwise call ({@link Kernels.add}, {@link Kernels.mul}). */
export interface BroadcastGeometry {
  /** Elements of `a` and of the result. */
  readonly size: number;
  /** Elements of `b`; element `i` of the result uses `b[i mod bSize]`. */
  readonly bSize: number;
  readonly shape: Shape;
}

/** Checks a broadcasting binary kernel: `b`'s shape is `a`'s or a suffix of it. */
export function broadcastGeometry(kernel: 'add' | 'mul', a: OperandInfo, b: OperandInfo): BroadcastGeometry {
  requireDtype(kernel, 'a', a);
  requireDtype(kernel, 'b', b);
  if (b.shape.length > a.shape.length || !sameShape(a.shape.slice(a.shape.length - b.shape.length), b.shape)) {
    throw shapeError(kernel, `b ${fmt(b.shape)} must equal a ${fmt(a.shape)} or a suffix of it.`, { a: [...a.shape], b: [...b.shape] });
  }
  return { size: shapeSize(a.shape), bSize: shapeSize(b.shape), shape: a.shape };
}

/** Sizes of an elementwise call whose f32 operands all have one shape. */
export interface ElementwiseGeometry {
  readonly size: number;
  readonly shape: Shape;
}

/** Checks elementwise kernels whose operands ({@link Kernels.silu}, {@link Kernels.swiglu} and their backward) share one shape. */
export function elementwiseGeometry(kernel: KernelName, ...operands: OperandInfo[]): ElementwiseGeometry {
  const [first] = operands;
  operands.forEach((t, i) => {
    requireDtype(kernel, `operand ${i}`, t);
    requireShape(kernel, `operand ${i}`, t, first.shape);
  });
  return { size: shapeSize(first.shape), shape: first.shape };
}

/** Checks {@link Kernels.scale}'s arguments. */
export function scaleGeometry(x: OperandInfo, factor: number): ElementwiseGeometry {
  requireFinite('scale', 'factor', factor);
  return elementwiseGeometry('scale', x);
}

/** Checks {@link Kernels.softcap}'s (and, with `dy`, its backward's) arguments: `cap` finite and > 0. */
export function softcapGeometry(kernel: 'softcap' | 'softcapBackward', cap: number, ...operands: OperandInfo[]): ElementwiseGeometry {
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap <= 0) {
    throw optionError(kernel, `cap must be a finite number > 0, got ${String(cap)}.`, { option: 'cap', value: cap });
  }
  return elementwiseGeometry(kernel, ...operands);
}

/** Checks {@link Kernels.cast}'s arguments. */
export function castGeometry(x: OperandInfo, dtype: FloatDType): ElementwiseGeometry {
  requireDtype('cast', 'x', x, WEIGHT_DTYPES);
  if (!WEIGHT_DTYPES.includes(dtype)) {
    throw new LoraFuseError('UNSUPPORTED_DTYPE', `cast: target dtype must be f32, f16 or bf16, got ${String(dtype)}.`, { details: { kernel: 'cast', dtype } });
  }
  return { size: shapeSize(x.shape), shape: x.shape };
}

/** Sizes of a kernel that works on the rows of its input's last dimension. */
export interface RowGeometry {
  /** Product of the leading dimensions. */
  readonly rows: number;
  /** The last dimension. */
  readonly dim: number;
}

/** Checks {@link Kernels.rmsNorm}'s (and, with `dy`, its backward's) arguments. */
export function rmsNormGeometry(x: OperandInfo, weight: OperandInfo, eps: number, dy?: OperandInfo): RowGeometry {
  const kernel = dy ? 'rmsNormBackward' : 'rmsNorm';
  requireDtype(kernel, 'x', x);
  requireDtype(kernel, 'weight', weight);
  requireRank(kernel, 'x', x, 1, true);
  const dim = x.shape[x.shape.length - 1];
  requireShape(kernel, 'weight', weight, [dim]);
  requireFinite(kernel, 'eps', eps, 0);
  if (dy) {
    requireDtype(kernel, 'dy', dy);
    requireShape(kernel, 'dy', dy, x.shape);
  }
  return { rows: shapeSize(x.shape.slice(0, -1)), dim };
}

/** Sizes of a {@link Kernels.rope} call. */
export interface RopeGeometry {
  readonly batch: number;
  readonly heads: number;
  readonly seq: number;
  /** Head dimension (even). */
  readonly dim: number;
  /** True when the tables are `[batch, seq, D]`, false when shared `[seq, D]`. */
  readonly tablesPerBatch: boolean;
}

/** Checks {@link Kernels.rope}'s (and its backward's) arguments. */
export function ropeGeometry(kernel: 'rope' | 'ropeBackward', x: OperandInfo, cos: OperandInfo, sin: OperandInfo): RopeGeometry {
  requireDtype(kernel, 'x', x);
  requireDtype(kernel, 'cos', cos);
  requireDtype(kernel, 'sin', sin);
  requireRank(kernel, 'x', x, 4);
  const [batch, heads, seq, dim] = x.shape;
  if (dim % 2 !== 0) throw shapeError(kernel, `the head dimension must be even, got ${dim}.`, { shape: [...x.shape] });
  const tablesPerBatch = cos.shape.length === 3;
  requireShape(kernel, 'cos', cos, tablesPerBatch ? [batch, seq, dim] : [seq, dim]);
  requireShape(kernel, 'sin', sin, cos.shape);
  return { batch, heads, seq, dim, tablesPerBatch };
}

/** Sizes of an attention call. */
export interface AttentionGeometry {
  readonly batch: number;
  /** Query heads `H`. */
  readonly heads: number;
  /** Key/value heads `KV`. */
  readonly kvHeads: number;
  /** Query heads per key/value head, `H / KV`: query head `h` reads KV head `floor(h / group)`. */
  readonly group: number;
  readonly seqQ: number;
  readonly seqK: number;
  readonly dim: number;
  /** The score scale (the option, or `1/√D`). */
  readonly scale: number;
  /** Most keys a query sees: the `window` option, capped at `seqK` (which the causal mask alone allows). */
  readonly window: number;
  /** Axis order of the operands. */
  readonly layout: AttentionLayout;
}

/** Checks {@link Kernels.attention}'s arguments. */
export function attentionGeometry(
  q: OperandInfo,
  k: OperandInfo,
  v: OperandInfo,
  options: AttentionOptions = {},
  kernel: KernelName = 'attention',
): AttentionGeometry {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    requireDtype(kernel, name, t);
    requireRank(kernel, name, t, 4);
  }
  const layout = options.layout ?? 'bhsd';
  if (layout !== 'bhsd' && layout !== 'bshd')
    throw new LoraFuseError('INVALID_OPTION', `${kernel}: layout must be 'bhsd' or 'bshd'; got ${String(layout)}.`, { details: { layout } });
  // Named as in the heads-first layout; the sequence-first one swaps the middle axes.
  const axes = (shape: Shape): [number, number, number, number] =>
    layout === 'bhsd' ? [shape[0], shape[1], shape[2], shape[3]] : [shape[0], shape[2], shape[1], shape[3]];
  const [batch, heads, seqQ, dim] = axes(q.shape);
  const [kb, kvHeads, seqK, kd] = axes(k.shape);
  if (kb !== batch || kd !== dim) throw shapeError(kernel, `k ${fmt(k.shape)} does not match q ${fmt(q.shape)} in batch or head dimension.`);
  requireShape(kernel, 'v', v, k.shape);
  if (kvHeads === 0 ? heads !== 0 : heads % kvHeads !== 0) {
    throw shapeError(kernel, `query heads (${heads}) must be a multiple of key/value heads (${kvHeads}).`, { heads, kvHeads });
  }
  if (seqQ > seqK) throw shapeError(kernel, `queries (${seqQ}) cannot outnumber keys (${seqK}).`, { seqQ, seqK });
  if (options.scale !== undefined) requireFinite(kernel, 'scale', options.scale);
  if (options.window !== undefined) requireInteger(kernel, 'window', options.window, 1, Number.MAX_SAFE_INTEGER);
  return {
    batch,
    heads,
    kvHeads,
    group: kvHeads === 0 ? 1 : heads / kvHeads,
    seqQ,
    seqK,
    dim,
    scale: options.scale ?? (dim > 0 ? 1 / Math.sqrt(dim) : 1),
    window: Math.min(options.window ?? seqK, seqK),
    layout,
  };
}

/** Checks {@link Kernels.attentionBackward}'s arguments. */
export function attentionBackwardGeometry(
  q: OperandInfo,
  k: OperandInfo,
  v: OperandInfo,
  out: OperandInfo,
  lse: OperandInfo,
  dOut: OperandInfo,
  options: AttentionOptions = {},
): AttentionGeometry {
  const g = attentionGeometry(q, k, v, options, 'attentionBackward');
  for (const [name, t, shape] of [
    ['out', out, q.shape],
    ['lse', lse, [g.batch, g.heads, g.seqQ]],
    ['dOut', dOut, q.shape],
  ] as const) {
    requireDtype('attentionBackward', name, t);
    requireShape('attentionBackward', name, t, shape);
  }
  return g;
}

/** Sizes of a cross-entropy call. */
export interface CrossEntropyGeometry {
  readonly rows: number;
  readonly vocab: number;
  /** The leading shape (of targets and lse). */
  readonly shape: Shape;
}

/** Checks {@link Kernels.crossEntropy}'s arguments. */
export function crossEntropyGeometry(logits: OperandInfo, targets: OperandInfo, kernel: KernelName = 'crossEntropy'): CrossEntropyGeometry {
  requireDtype(kernel, 'logits', logits);
  requireDtype(kernel, 'targets', targets, ['i32']);
  requireRank(kernel, 'logits', logits, 1, true);
  const vocab = logits.shape[logits.shape.length - 1];
  if (vocab < 1) throw shapeError(kernel, 'logits need at least one class.', { shape: [...logits.shape] });
  const shape = logits.shape.slice(0, -1);
  requireShape(kernel, 'targets', targets, shape);
  return { rows: shapeSize(shape), vocab, shape };
}

/** Checks {@link Kernels.crossEntropyBackward}'s arguments. */
export function crossEntropyBackwardGeometry(logits: OperandInfo, targets: OperandInfo, lse: OperandInfo, scale: number): CrossEntropyGeometry {
  const g = crossEntropyGeometry(logits, targets, 'crossEntropyBackward');
  requireDtype('crossEntropyBackward', 'lse', lse);
  requireShape('crossEntropyBackward', 'lse', lse, g.shape);
  requireFinite('crossEntropyBackward', 'scale', scale);
  return g;
}

/** Sizes of an embedding call. */
export interface EmbeddingGeometry {
  /** Number of ids. */
  readonly count: number;
  readonly vocab: number;
  readonly dim: number;
  /** Shape of the gathered rows (forward) or of the table gradient (backward). */
  readonly shape: Shape;
}

/** Checks {@link Kernels.embedding}'s arguments. */
export function embeddingGeometry(ids: OperandInfo, table: OperandInfo): EmbeddingGeometry {
  requireDtype('embedding', 'ids', ids, ['i32']);
  requireDtype('embedding', 'table', table, WEIGHT_DTYPES);
  requireRank('embedding', 'table', table, 2);
  const [vocab, dim] = table.shape;
  return { count: shapeSize(ids.shape), vocab, dim, shape: [...ids.shape, dim] };
}

/** Checks {@link Kernels.embeddingBackward}'s arguments. */
export function embeddingBackwardGeometry(ids: OperandInfo, dy: OperandInfo, vocabSize: number): EmbeddingGeometry {
  requireDtype('embeddingBackward', 'ids', ids, ['i32']);
  requireDtype('embeddingBackward', 'dy', dy);
  requireInteger('embeddingBackward', 'vocabSize', vocabSize, 0, Number.MAX_SAFE_INTEGER);
  requireRank('embeddingBackward', 'dy', dy, ids.shape.length + 1);
  const dim = dy.shape[dy.shape.length - 1];
  requireShape('embeddingBackward', 'dy', dy, [...ids.shape, dim]);
  return { count: shapeSize(ids.shape), vocab: vocabSize, dim, shape: [vocabSize, dim] };
}

/** Checks {@link Kernels.sum}'s argument; returns the element count. */
export function sumGeometry(x: OperandInfo): number {
  requireDtype('sum', 'x', x);
  return shapeSize(x.shape);
}

/** Checks {@link Kernels.columnSumSquares}'s argument. */
export function columnSumSquaresGeometry(x: OperandInfo): RowGeometry {
  requireDtype('columnSumSquares', 'x', x);
  requireRank('columnSumSquares', 'x', x, 1, true);
  const dim = x.shape[x.shape.length - 1];
  return { rows: shapeSize(x.shape.slice(0, -1)), dim };
}

/** Checks {@link Kernels.globalNorm}'s arguments. */
export function globalNormGeometry(tensors: readonly OperandInfo[]): void {
  if (!Array.isArray(tensors)) throw optionError('globalNorm', 'expects an array of tensors.');
  tensors.forEach((t, i) => {
    requireDtype('globalNorm', `tensors[${i}]`, t);
  });
}

/** Checks {@link Kernels.adamwStep}'s arguments; returns the element count and the gradient scale. */
export function adamwGeometry(
  param: OperandInfo,
  grad: OperandInfo,
  m: OperandInfo,
  v: OperandInfo,
  options: AdamwOptions,
): { size: number; gradScale: number } {
  for (const [name, t] of [
    ['param', param],
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    requireDtype('adamwStep', name, t);
    requireShape('adamwStep', name, t, param.shape);
  }
  if (typeof options !== 'object' || options === null) throw optionError('adamwStep', 'options are required.');
  requireFinite('adamwStep', 'lr', options.lr, 0);
  requireFinite('adamwStep', 'eps', options.eps, 0);
  requireFinite('adamwStep', 'weightDecay', options.weightDecay, 0);
  for (const name of ['beta1', 'beta2'] as const) {
    const beta = options[name];
    if (!(typeof beta === 'number' && beta >= 0 && beta < 1))
      throw optionError('adamwStep', `${name} must be in [0, 1), got ${String(beta)}.`, { option: name, value: beta });
  }
  requireInteger('adamwStep', 'step', options.step, 1, Number.MAX_SAFE_INTEGER);
  const gradScale = options.gradScale ?? 1;
  requireFinite('adamwStep', 'gradScale', gradScale);
  if (options.guard !== undefined) checkGuard(options.guard);
  return { size: shapeSize(param.shape), gradScale };
}

function checkGuard(guard: AdamwGuard): void {
  if (typeof guard !== 'object' || guard === null) throw optionError('adamwStep', 'guard must be an object { norm, loss, maxNorm? }.');
  for (const name of ['norm', 'loss'] as const) {
    const t = guard[name];
    requireDtype('adamwStep', `guard.${name}`, t);
    if (shapeSize(t.shape) !== 1)
      throw shapeError('adamwStep', `guard.${name} must hold one element, got ${fmt(t.shape)}.`, { argument: `guard.${name}`, shape: [...t.shape] });
  }
  if (guard.maxNorm !== undefined && !(Number.isFinite(guard.maxNorm) && guard.maxNorm > 0)) {
    throw optionError('adamwStep', `guard.maxNorm must be finite and > 0; got ${String(guard.maxNorm)}.`, { option: 'guard.maxNorm', value: guard.maxNorm });
  }
}

/**
 * The gradient multiplier of a guarded step, or undefined when the step is
 * skipped: backends that hold the guard's values on the host (reference,
 * wasm) decide with it in float64, as a trainer reading them would.
 */
export function guardedGradScale(gradScale: number, guard: AdamwGuard | undefined, readValue: (t: AdamwGuard['norm']) => number): number | undefined {
  if (guard === undefined) return gradScale;
  const norm = readValue(guard.norm);
  if (!Number.isFinite(norm) || !Number.isFinite(readValue(guard.loss))) return undefined;
  return guard.maxNorm === undefined ? gradScale : gradScale * Math.min(1, guard.maxNorm / (norm + 1e-6));
}

/** Sizes of a {@link Kernels.loraImportance} call. */
export interface LoraImportanceGeometry {
  readonly rank: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Checks {@link Kernels.loraImportance}'s arguments. */
export function loraImportanceGeometry(a: OperandInfo, b: OperandInfo, n: OperandInfo): LoraImportanceGeometry {
  requireDtype('loraImportance', 'a', a);
  requireDtype('loraImportance', 'b', b);
  requireDtype('loraImportance', 'n', n);
  requireRank('loraImportance', 'a', a, 2);
  requireRank('loraImportance', 'b', b, 2);
  const [rank, inFeatures] = a.shape;
  const [outFeatures] = b.shape;
  requireShape('loraImportance', 'b', b, [outFeatures, rank]);
  requireShape('loraImportance', 'n', n, [inFeatures]);
  return { rank, inFeatures, outFeatures };
}

/** Sizes of a {@link Kernels.bottomKMask} call. */
export interface SelectionGeometry {
  readonly groups: number;
  /** Elements per group. */
  readonly n: number;
  /** Elements pruned per group. */
  readonly k: number;
}

/** Checks {@link Kernels.bottomKMask}'s arguments. */
export function bottomKGeometry(scores: OperandInfo, k: number): SelectionGeometry {
  requireDtype('bottomKMask', 'scores', scores);
  requireRank('bottomKMask', 'scores', scores, 2);
  const [groups, n] = scores.shape;
  requireInteger('bottomKMask', 'k', k, 0, n);
  return { groups, n, k };
}

/** Checks {@link Kernels.maskApply}'s arguments; returns the element count. */
export function maskApplyGeometry(param: OperandInfo, mask: OperandInfo, init?: OperandInfo): number {
  requireDtype('maskApply', 'param', param);
  requireDtype('maskApply', 'mask', mask, ['u8']);
  const size = shapeSize(param.shape);
  if (shapeSize(mask.shape) !== size) {
    throw shapeError('maskApply', `mask ${fmt(mask.shape)} must have as many elements as param ${fmt(param.shape)}.`, {
      param: [...param.shape],
      mask: [...mask.shape],
    });
  }
  if (init) {
    requireDtype('maskApply', 'init', init);
    requireShape('maskApply', 'init', init, param.shape);
  }
  return size;
}

/** A checked random-stream request. */
export interface RandomGeometry {
  readonly size: number;
  readonly shape: Shape;
  readonly seed: number;
  readonly stream: number;
  /** Counter of element 0. */
  readonly offset: number;
}

/** Checks {@link Kernels.randomUniform}'s arguments. */
export function randomGeometry(shape: Shape, options: RandomOptions, kernel: KernelName = 'randomUniform'): RandomGeometry {
  checkShape(shape);
  if (typeof options !== 'object' || options === null) throw optionError(kernel, 'options { seed, stream } are required.');
  requireInteger(kernel, 'seed', options.seed, 0, U32_LIMIT - 1);
  requireInteger(kernel, 'stream', options.stream, 0, U32_LIMIT - 1);
  const size = shapeSize(shape);
  const offset = options.offset ?? 0;
  requireInteger(kernel, 'offset', offset, 0, Number.MAX_SAFE_INTEGER - size);
  return { size, shape: [...shape], seed: options.seed, stream: options.stream, offset };
}

/** Checks {@link Kernels.randomNormal}'s arguments. */
export function normalGeometry(shape: Shape, options: NormalOptions): RandomGeometry & { mean: number; std: number } {
  const g = randomGeometry(shape, options, 'randomNormal');
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  requireFinite('randomNormal', 'mean', mean);
  requireFinite('randomNormal', 'std', std);
  return { ...g, mean, std };
}

/** A checked {@link Kernels.dropout} call: its mask stream and what every backend multiplies by. */
export interface DropoutGeometry extends RandomGeometry {
  readonly p: number;
  /** `fround(1 / (1 − p))`: the f32 every backend multiplies a kept element by. */
  readonly scale: number;
  /**
   * `ceil(p · 2²⁴)`: element `i` is kept when the top 24 bits of its Philox
   * word (`uᵢ · 2²⁴`, an integer) reach it, which is `uᵢ ≥ p` exactly, so
   * that a device without float64 compares the same way.
   */
  readonly threshold: number;
}

/** Checks {@link Kernels.dropout}'s arguments. */
export function dropoutGeometry(x: OperandInfo, options: DropoutOptions): DropoutGeometry {
  requireDtype('dropout', 'x', x);
  const g = randomGeometry(x.shape, options, 'dropout');
  const { p } = options;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw optionError('dropout', `p must be a finite number in [0, 1), got ${String(p)}.`, { option: 'p', value: p });
  }
  return { ...g, p, scale: Math.fround(1 / (1 - p)), threshold: Math.ceil(p * 2 ** 24) };
}

/** Checks {@link Kernels.reshape}'s arguments; returns the new shape. */
export function reshapeGeometry(x: OperandInfo, shape: Shape): Shape {
  checkShape(shape);
  if (shapeSize(shape) !== shapeSize(x.shape)) {
    throw shapeError('reshape', `cannot reshape ${fmt(x.shape)} (${shapeSize(x.shape)} elements) to ${fmt(shape)}.`, { from: [...x.shape], to: [...shape] });
  }
  return [...shape];
}

/** Sizes of a {@link Kernels.permute} call. */
export interface PermuteGeometry {
  /** Result shape. */
  readonly shape: Shape;
  /** For each result dimension, the stride (in elements) of the input dimension it reads. */
  readonly strides: readonly number[];
}

/** Checks {@link Kernels.permute}'s arguments. */
export function permuteGeometry(x: OperandInfo, axes: readonly number[]): PermuteGeometry {
  const rank = x.shape.length;
  const seen = new Set(axes);
  if (!Array.isArray(axes) || axes.length !== rank || seen.size !== rank || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) {
    throw optionError('permute', `axes [${String(axes)}] must be a permutation of 0..${rank - 1}.`, { axes });
  }
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= x.shape[i];
  }
  return { shape: axes.map((a) => x.shape[a]), strides: axes.map((a) => inStrides[a]) };
}

/** Sizes of a {@link Kernels.concat} call, as a sequence of `outer` blocks. */
export interface ConcatGeometry {
  /** Result shape. */
  readonly shape: Shape;
  /** Product of the dimensions before `axis`: the number of blocks. */
  readonly outer: number;
  /** Elements of `a` in each block (`a.shape[axis]` times the dimensions after `axis`). */
  readonly innerA: number;
  /** Elements of `b` in each block. */
  readonly innerB: number;
}

/** Checks {@link Kernels.concat}'s arguments. */
export function concatGeometry(a: OperandInfo, b: OperandInfo, axis: number): ConcatGeometry {
  const rank = a.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw optionError('concat', `axis ${String(axis)} must be an integer in [0, ${rank - 1}] for ${fmt(a.shape)}.`, { axis });
  }
  if (a.dtype !== b.dtype) {
    throw new LoraFuseError('DTYPE_MISMATCH', `concat: a is ${a.dtype} but b is ${b.dtype}; both must have one dtype.`, {
      details: { kernel: 'concat', a: a.dtype, b: b.dtype },
    });
  }
  if (b.shape.length !== rank || a.shape.some((d, i) => i !== axis && d !== b.shape[i])) {
    throw shapeError('concat', `${fmt(a.shape)} and ${fmt(b.shape)} must agree on every dimension but ${axis}.`, { a: [...a.shape], b: [...b.shape], axis });
  }
  const after = shapeSize(a.shape.slice(axis + 1));
  return {
    shape: a.shape.map((d, i) => (i === axis ? d + b.shape[axis] : d)),
    outer: shapeSize(a.shape.slice(0, axis)),
    innerA: a.shape[axis] * after,
    innerB: b.shape[axis] * after,
  };
}

/** Sizes of a {@link Kernels.slice} call, as a sequence of `outer` blocks. */
export interface SliceGeometry {
  /** Result shape. */
  readonly shape: Shape;
  /** Product of the dimensions before `axis`: the number of blocks. */
  readonly outer: number;
  /** Elements of `x` in each block (`x.shape[axis]` times the dimensions after `axis`). */
  readonly inner: number;
  /** Elements of each block before the slice (`start` times the dimensions after `axis`). */
  readonly offset: number;
  /** Elements of each block in the slice (`length` times the dimensions after `axis`). */
  readonly size: number;
}

/** Checks {@link Kernels.slice}'s arguments. */
export function sliceGeometry(x: OperandInfo, axis: number, start: number, length: number): SliceGeometry {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw optionError('slice', `axis ${String(axis)} must be an integer in [0, ${rank - 1}] for ${fmt(x.shape)}.`, { axis });
  }
  const extent = x.shape[axis];
  requireInteger('slice', 'start', start, 0, extent);
  requireInteger('slice', 'length', length, 0, extent - start);
  const after = shapeSize(x.shape.slice(axis + 1));
  return {
    shape: x.shape.map((d, i) => (i === axis ? length : d)),
    outer: shapeSize(x.shape.slice(0, axis)),
    inner: extent * after,
    offset: start * after,
    size: length * after,
  };
}
