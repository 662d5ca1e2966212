import type { KernelName } from '../backend/kernels.js';

/**
 * The one table of conformance tolerances: for each kernel, the largest
 * relative L2 error `‖actual − expected‖₂ / ‖expected‖₂` allowed on its f32
 * outputs against the reference (absolute when the reference is all zeros).
 * 0 means bit-exact. Outputs that are not f32 (u8 masks, f16/bf16 casts,
 * i32) are always compared bit for bit; NaN must match NaN and nothing else,
 * and infinities must match exactly, whatever the tolerance.
 */
export const CONFORMANCE_TOLERANCES: Readonly<Record<KernelName, number>> = Object.freeze({
  matmul: 1e-5,
  loraLinear: 1e-5,
  add: 1e-5,
  mul: 1e-5,
  scale: 1e-5,
  abs: 0,
  sqrt: 0,
  cast: 0,
  silu: 1e-5,
  siluBackward: 1e-5,
  swiglu: 1e-5,
  swigluBackward: 1e-5,
  geglu: 1e-5,
  gegluBackward: 1e-5,
  softcap: 1e-5,
  softcapBackward: 1e-5,
  rmsNorm: 1e-5,
  rmsNormBackward: 1e-5,
  rope: 1e-5,
  ropeBackward: 1e-5,
  attention: 1e-5,
  attentionBackward: 1e-5,
  crossEntropy: 1e-5,
  crossEntropyBackward: 1e-5,
  embedding: 0,
  embeddingBackward: 1e-5,
  sum: 1e-5,
  columnSumSquares: 1e-5,
  globalNorm: 1e-5,
  adamwStep: 1e-5,
  loraImportance: 1e-5,
  bottomKMask: 0,
  maskApply: 0,
  randomUniform: 0,
  randomNormal: 1e-5,
  dropout: 0,
  reshape: 0,
  permute: 0,
  concat: 0,
  slice: 0,
});
