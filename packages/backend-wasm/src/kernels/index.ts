import type { Kernels } from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { concat } from './concat.js';
import { binary, cast, gatedBackward, pairwise, scale, unary } from './elementwise.js';
import { permute, reshape } from './layout.js';
import { loraLinear, matmul } from './linear.js';
import { dropout, randomNormal, randomUniform } from './random.js';
import { columnSumSquares, globalNorm, sum } from './reductions.js';
import { slice } from './slice.js';
import { softcap, softcapBackward } from './softcap.js';
import { adamwStep, bottomKMask, loraImportance, maskApply } from './training.js';
import {
  attention,
  attentionBackward,
  crossEntropy,
  crossEntropyBackward,
  embedding,
  embeddingBackward,
  rmsNorm,
  rmsNormBackward,
  rope,
} from './transformer.js';

/** Every kernel of the contract, running in the wasm module of `ctx`. */
export function wasmKernels(ctx: WasmContext): Kernels {
  return {
    matmul: (a, b, options) => matmul(ctx, a, b, options),
    loraLinear: (x, w0, a, b, s) => loraLinear(ctx, x, w0, a, b, s),
    add: (a, b) => binary(ctx, 'add', a, b),
    mul: (a, b) => binary(ctx, 'mul', a, b),
    scale: (x, factor) => scale(ctx, x, factor),
    abs: (x) => unary(ctx, 'abs', x),
    sqrt: (x) => unary(ctx, 'sqrt', x),
    cast: (x, dtype) => cast(ctx, x, dtype),
    silu: (x) => unary(ctx, 'silu', x),
    siluBackward: (x, dy) => pairwise(ctx, 'siluBackward', x, dy),
    swiglu: (gate, up) => pairwise(ctx, 'swiglu', gate, up),
    swigluBackward: (gate, up, dy) => gatedBackward(ctx, 'swigluBackward', gate, up, dy),
    geglu: (gate, up) => pairwise(ctx, 'geglu', gate, up),
    gegluBackward: (gate, up, dy) => gatedBackward(ctx, 'gegluBackward', gate, up, dy),
    softcap: (x, cap) => softcap(ctx, x, cap),
    softcapBackward: (y, dy, cap) => softcapBackward(ctx, y, dy, cap),
    rmsNorm: (x, weight, eps) => rmsNorm(ctx, x, weight, eps),
    rmsNormBackward: (x, weight, dy, eps) => rmsNormBackward(ctx, x, weight, dy, eps),
    rope: (x, cos, sin) => rope(ctx, 'rope', x, cos, sin),
    ropeBackward: (dy, cos, sin) => rope(ctx, 'ropeBackward', dy, cos, sin),
    attention: (q, k, v, options) => attention(ctx, q, k, v, options),
    attentionBackward: (q, k, v, out, lse, dOut, options) => attentionBackward(ctx, q, k, v, out, lse, dOut, options),
    crossEntropy: (logits, targets) => crossEntropy(ctx, logits, targets),
    crossEntropyBackward: (logits, targets, lse, s) => crossEntropyBackward(ctx, logits, targets, lse, s),
    embedding: (ids, table) => embedding(ctx, ids, table),
    embeddingBackward: (ids, dy, vocabSize) => embeddingBackward(ctx, ids, dy, vocabSize),
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
