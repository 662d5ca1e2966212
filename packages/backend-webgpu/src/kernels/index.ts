import type { Kernels } from '@lorafuse/core';
import { adamwStep } from './adamw.js';
import { attention, attentionBackward } from './attention.js';
import { bottomKMask } from './bottom-k-mask.js';
import { cast } from './cast.js';
import { concat } from './concat.js';
import type { KernelContext } from './context.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { broadcastBinary, onBits, scale, silu, siluBackward, swiglu, swigluBackward } from './elementwise.js';
import { embedding, embeddingBackward } from './embedding.js';
import { geglu, gegluBackward } from './geglu.js';
import { permute, reshape } from './layout.js';
import { loraImportance } from './lora-importance.js';
import { maskApply } from './mask-apply.js';
import { loraLinear, matmul } from './matmul.js';
import { dropout } from './dropout.js';
import { randomNormal, randomUniform } from './random.js';
import { columnSumSquares, globalNorm, sum } from './reductions.js';
import { rmsNorm, rmsNormBackward } from './rms-norm.js';
import { rope } from './rope.js';
import { slice } from './slice.js';
import { softcap, softcapBackward } from './softcap.js';

/** Every kernel of the contract, in WGSL, on one backend's context. */
export function webgpuKernels(ctx: KernelContext): Kernels {
  return {
    matmul: (a, b, options) => matmul(ctx, a, b, options),
    loraLinear: (x, w0, a, b, s) => loraLinear(ctx, x, w0, a, b, s),
    add: (a, b) => broadcastBinary(ctx, 'add', a, b),
    mul: (a, b) => broadcastBinary(ctx, 'mul', a, b),
    scale: (x, factor) => scale(ctx, x, factor),
    abs: (x) => onBits(ctx, 'abs', x),
    sqrt: (x) => onBits(ctx, 'sqrt', x),
    cast: (x, dtype) => cast(ctx, x, dtype),
    silu: (x) => silu(ctx, x),
    siluBackward: (x, dy) => siluBackward(ctx, x, dy),
    swiglu: (gate, up) => swiglu(ctx, gate, up),
    swigluBackward: (gate, up, dy) => swigluBackward(ctx, gate, up, dy),
    geglu: (gate, up) => geglu(ctx, gate, up),
    gegluBackward: (gate, up, dy) => gegluBackward(ctx, gate, up, dy),
    softcap: (x, cap) => softcap(ctx, x, cap),
    softcapBackward: (y, dy, cap) => softcapBackward(ctx, y, dy, cap),
    rmsNorm: (x, w, eps) => rmsNorm(ctx, x, w, eps),
    rmsNormBackward: (x, w, dy, eps) => rmsNormBackward(ctx, x, w, dy, eps),
    rope: (x, cos, sin) => rope(ctx, 'rope', x, cos, sin),
    ropeBackward: (dy, cos, sin) => rope(ctx, 'ropeBackward', dy, cos, sin),
    attention: (q, k, v, options) => attention(ctx, q, k, v, options),
    attentionBackward: (q, k, v, out, lse, dOut, options) => attentionBackward(ctx, q, k, v, out, lse, dOut, options),
    crossEntropy: (logits, targets) => crossEntropy(ctx, logits, targets),
    crossEntropyBackward: (logits, targets, lse, s) => crossEntropyBackward(ctx, logits, targets, lse, s),
    embedding: (ids, table) => embedding(ctx, ids, table),
    embeddingBackward: (ids, dy, vocab) => embeddingBackward(ctx, ids, dy, vocab),
    sum: (x) => sum(ctx, x),
    columnSumSquares: (x) => columnSumSquares(ctx, x),
    globalNorm: (tensors) => globalNorm(ctx, tensors),
    adamwStep: (param, grad, m, v, options) => adamwStep(ctx, param, grad, m, v, options),
    loraImportance: (a, b, n) => loraImportance(ctx, a, b, n),
    bottomKMask: (scores, k) => bottomKMask(ctx, scores, k),
    maskApply: (param, mask, init) => maskApply(ctx, param, mask, init),
    randomUniform: (shape, options) => randomUniform(ctx, shape, options),
    randomNormal: (shape, options) => randomNormal(ctx, shape, options),
    dropout: (x, options) => dropout(ctx, x, options),
    reshape: (x, shape) => reshape(ctx, x, shape),
    permute: (x, axes) => permute(ctx, x, axes),
    concat: (a, b, axis) => concat(ctx, a, b, axis),
    slice: (x, axis, start, length) => slice(ctx, x, axis, start, length),
  };
}
