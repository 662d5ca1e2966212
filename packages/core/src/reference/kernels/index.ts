import type { Kernels } from '../../backend/kernels.js';
import type { HostStore } from '../host-store.js';
import { abs } from './abs.js';
import { adamwStep } from './adamw-step.js';
import { add } from './add.js';
import { attentionBackward } from './attention-backward.js';
import { attention } from './attention.js';
import { cast } from './cast.js';
import { concat } from './concat.js';
import { columnSumSquares } from './column-sum-squares.js';
import { dropout } from './dropout.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { embedding, embeddingBackward } from './embedding.js';
import { geglu, gegluBackward } from './geglu.js';
import { globalNorm } from './global-norm.js';
import { loraImportance } from './lora-importance.js';
import { loraLinear } from './lora-linear.js';
import { maskApply } from './mask-apply.js';
import { matmul } from './matmul.js';
import { mul } from './mul.js';
import { permute } from './permute.js';
import { randomNormal, randomUniform } from './random.js';
import { reshape } from './reshape.js';
import { rmsNorm, rmsNormBackward } from './rms-norm.js';
import { rope, ropeBackward } from './rope.js';
import { scale } from './scale.js';
import { silu, siluBackward } from './silu.js';
import { slice } from './slice.js';
import { softcap, softcapBackward } from './softcap.js';
import { sqrt } from './sqrt.js';
import { sum } from './sum.js';
import { swiglu, swigluBackward } from './swiglu.js';
import { bottomKMask } from './bottom-k-mask.js';

/** The reference kernels bound to one backend's store. */
export function referenceKernels(store: HostStore): Kernels {
  return {
    matmul: (a, b, options) => matmul(store, a, b, options),
    loraLinear: (x, w0, a, b, s) => loraLinear(store, x, w0, a, b, s),
    add: (a, b) => add(store, a, b),
    mul: (a, b) => mul(store, a, b),
    scale: (x, factor) => scale(store, x, factor),
    abs: (x) => abs(store, x),
    sqrt: (x) => sqrt(store, x),
    cast: (x, dtype) => cast(store, x, dtype),
    silu: (x) => silu(store, x),
    siluBackward: (x, dy) => siluBackward(store, x, dy),
    swiglu: (gate, up) => swiglu(store, gate, up),
    swigluBackward: (gate, up, dy) => swigluBackward(store, gate, up, dy),
    geglu: (gate, up) => geglu(store, gate, up),
    gegluBackward: (gate, up, dy) => gegluBackward(store, gate, up, dy),
    softcap: (x, cap) => softcap(store, x, cap),
    softcapBackward: (y, dy, cap) => softcapBackward(store, y, dy, cap),
    rmsNorm: (x, weight, eps) => rmsNorm(store, x, weight, eps),
    rmsNormBackward: (x, weight, dy, eps) => rmsNormBackward(store, x, weight, dy, eps),
    rope: (x, cos, sin) => rope(store, x, cos, sin),
    ropeBackward: (dy, cos, sin) => ropeBackward(store, dy, cos, sin),
    attention: (q, k, v, options) => attention(store, q, k, v, options),
    attentionBackward: (q, k, v, out, lse, dOut, options) => attentionBackward(store, q, k, v, out, lse, dOut, options),
    crossEntropy: (logits, targets) => crossEntropy(store, logits, targets),
    crossEntropyBackward: (logits, targets, lse, s) => crossEntropyBackward(store, logits, targets, lse, s),
    embedding: (ids, table) => embedding(store, ids, table),
    embeddingBackward: (ids, dy, vocabSize) => embeddingBackward(store, ids, dy, vocabSize),
    sum: (x) => sum(store, x),
    columnSumSquares: (x) => columnSumSquares(store, x),
    globalNorm: (tensors) => globalNorm(store, tensors),
    adamwStep: (param, grad, m, v, options) => adamwStep(store, param, grad, m, v, options),
    loraImportance: (a, b, n) => loraImportance(store, a, b, n),
    bottomKMask: (scores, k) => bottomKMask(store, scores, k),
    maskApply: (param, mask, init) => maskApply(store, param, mask, init),
    randomUniform: (shape, options) => randomUniform(store, shape, options),
    randomNormal: (shape, options) => randomNormal(store, shape, options),
    dropout: (x, options) => dropout(store, x, options),
    reshape: (x, shape) => reshape(store, x, shape),
    permute: (x, axes) => permute(store, x, axes),
    concat: (a, b, axis) => concat(store, a, b, axis),
    slice: (x, axis, start, length) => slice(store, x, axis, start, length),
  };
}
