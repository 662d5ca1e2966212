export type { GgufContent, GgufNumberType, GgufScalar, GgufScalarType, GgufTensor, GgufValue } from './types.js';
export { GGUF_DEFAULT_ALIGNMENT, encodeGguf, writeGguf } from './encode.js';
