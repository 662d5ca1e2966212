/**
 * The functions the kernel module exports (assembly/index.ts). Addresses
 * are byte offsets into the instance's memory; booleans are passed as 0/1;
 * `u64` counters as bigint.
 */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  castFloats(src: number, from: number, dst: number, to: number, n: number): void;
  matmulScratchFloats(k: number, n: number): number;
  matmul(
    a: number,
    b: number,
    c: number,
    bDtype: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    aStride: number,
    bStride: number,
    transA: number,
    transB: number,
    accumulate: number,
    scratch: number,
    rowStart: number,
    rowEnd: number,
    colStart: number,
    colEnd: number,
    packedA: number,
    packedB: number,
    reductionStart: number,
    reductionEnd: number,
  ): void;
  packedAFloats(m: number, k: number): number;
  packedBFloats(k: number, n: number): number;
  packPanelsOfA(
    a: number,
    transA: number,
    m: number,
    k: number,
    reductionStart: number,
    reductionEnd: number,
    rowStart: number,
    rowEnd: number,
    dst: number,
  ): void;
  packPanelsOfB(
    b: number,
    bDtype: number,
    transB: number,
    k: number,
    n: number,
    reductionStart: number,
    reductionEnd: number,
    colStart: number,
    colEnd: number,
    dst: number,
  ): void;
  binary(kind: number, a: number, b: number, out: number, size: number, bSize: number): void;
  scale(x: number, out: number, size: number, factor: number): void;
  abs(x: number, out: number, size: number): void;
  sqrt(x: number, out: number, size: number): void;
  silu(x: number, out: number, size: number): void;
  siluBackward(x: number, dy: number, out: number, size: number): void;
  swiglu(gate: number, up: number, out: number, size: number): void;
  swigluBackward(gate: number, up: number, dy: number, dGate: number, dUp: number, size: number): void;
  geglu(gate: number, up: number, out: number, size: number): void;
  gegluBackward(gate: number, up: number, dy: number, dGate: number, dUp: number, size: number): void;
  softcap(x: number, out: number, size: number, cap: number): void;
  softcapBackward(y: number, dy: number, out: number, size: number, cap: number): void;
  maskApply(param: number, mask: number, init: number, size: number): void;
  sum(x: number, n: number, out: number): void;
  sumSquaresF64(x: number, n: number): number;
  columnSumSquares(x: number, rows: number, dim: number, out: number, acc: number): void;
  adamwStep(
    param: number,
    grad: number,
    m: number,
    v: number,
    size: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    gradScale: number,
    stepSize: number,
    correction2: number,
  ): void;
  loraImportanceScratchBytes(rank: number, inF: number, outF: number): number;
  loraImportancePrepare(a: number, b: number, n: number, rank: number, inF: number, outF: number, scratch: number): void;
  loraImportanceRows(rank: number, inF: number, outF: number, scoreB: number, scratch: number, rowStart: number, rowEnd: number): void;
  loraImportanceColumns(n: number, rank: number, inF: number, outF: number, scoreA: number, scratch: number, colStart: number, colEnd: number): void;
  bottomKMask(scores: number, groups: number, n: number, k: number, mask: number, keys: number): void;
  randomUniform(out: number, size: number, seed: number, stream: number, offset: bigint): void;
  randomNormal(out: number, size: number, seed: number, stream: number, offset: bigint, mean: number, std: number): void;
  dropout(x: number, out: number, size: number, seed: number, stream: number, offset: number, threshold: number, scale: number): void;
  rmsNorm(x: number, weight: number, out: number, rows: number, dim: number, eps: number): void;
  rmsNormBackward(x: number, weight: number, dy: number, dx: number, rows: number, dim: number, eps: number, blockRows: number, partials: number): void;
  rmsNormWeightGrad(partials: number, blocks: number, dim: number, dWeight: number): void;
  rope(x: number, cos: number, sin: number, out: number, batch: number, heads: number, seq: number, dim: number, perBatch: number, backward: number): void;
  attention(
    q: number,
    k: number,
    v: number,
    out: number,
    lse: number,
    batch: number,
    heads: number,
    kvHeads: number,
    group: number,
    seqQ: number,
    seqK: number,
    dim: number,
    scale: number,
    window: number,
    bshd: number,
    scratch: number,
    rowStart: number,
    rowEnd: number,
  ): void;
  attentionBackward(
    q: number,
    k: number,
    v: number,
    out: number,
    lse: number,
    dOut: number,
    dq: number,
    dk: number,
    dv: number,
    batch: number,
    heads: number,
    kvHeads: number,
    group: number,
    seqQ: number,
    seqK: number,
    dim: number,
    scale: number,
    window: number,
    bshd: number,
    scratch: number,
    rowStart: number,
    rowEnd: number,
  ): void;
  crossEntropyRows(logits: number, targets: number, rows: number, vocab: number, lse: number, terms: number): void;
  crossEntropyMean(targets: number, rows: number, terms: number, loss: number): void;
  crossEntropyBackward(logits: number, targets: number, lse: number, rows: number, vocab: number, factor: number, out: number): void;
  embedding(ids: number, count: number, table: number, dtype: number, vocab: number, dim: number, out: number): void;
  embeddingBackward(ids: number, count: number, dy: number, vocab: number, dim: number, out: number): void;
  permute(src: number, dst: number, elementBytes: number, rank: number, meta: number, index: number, start: number, end: number): void;
}

/** The exports kernels split across threads: each call covers a range of the output. */
export const PARALLEL_KERNELS = [
  'matmul',
  'packPanelsOfA',
  'packPanelsOfB',
  'attention',
  'attentionBackward',
  'binary',
  'scale',
  'abs',
  'sqrt',
  'silu',
  'siluBackward',
  'swiglu',
  'swigluBackward',
  'geglu',
  'gegluBackward',
  'softcap',
  'softcapBackward',
  'permute',
  'rmsNorm',
  'rmsNormBackward',
  'rope',
  'crossEntropyRows',
  'crossEntropyBackward',
  'dropout',
  'loraImportanceRows',
  'loraImportanceColumns',
] as const;

/** One of {@link PARALLEL_KERNELS}. */
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];
