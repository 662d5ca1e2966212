// Differentiable ops: each runs its backend kernel and records its gradient rule on a Tape.
export { matmul, loraLinear } from './linear.js';
export { add, mul, scale, silu, swiglu, geglu, softcap } from './elementwise.js';
export { rmsNorm, dropout, rope, attention, crossEntropy, embedding } from './nn.js';
export { reshape, permute, sum, split } from './layout.js';
export { lmHeadLoss, lossChunkTokens, type LmHeadLossOptions } from './lm-head.js';
