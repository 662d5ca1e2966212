// The kernels of the wasm backend. Every export takes byte addresses in the
// instance's memory, which the TypeScript side allocates from its arena.

export { castFloats } from './convert';
export { matmul, matmulScratchFloats, packedAFloats, packedBFloats, packPanelsOfA, packPanelsOfB } from './matmul';
export { binary, scale, abs, sqrt, silu, siluBackward, swiglu, swigluBackward, maskApply } from './elementwise';
export { geglu, gegluBackward } from './geglu';
export { softcap, softcapBackward } from './softcap';
export { sum, sumSquaresF64, columnSumSquares } from './reduce';
export { adamwStep } from './optimizer';
export { loraImportanceScratchBytes, loraImportancePrepare, loraImportanceRows, loraImportanceColumns } from './importance';
export { bottomKMask } from './selection';
export { randomUniform, randomNormal, dropout } from './random';
export { rmsNorm, rmsNormBackward, rmsNormWeightGrad, rope } from './normalization';
export { attention, attentionBackward } from './attention';
export { crossEntropyRows, crossEntropyMean, crossEntropyBackward, embedding, embeddingBackward } from './loss';
export { permute } from './layout';

/** First byte past the module's static data: the arena starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
