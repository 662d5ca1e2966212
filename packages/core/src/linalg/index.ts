// Small dense float64 linear algebra on the host, for merging LoRA factors.
export { matmul, matrix, transpose, type Matrix } from './matrix.js';
export { householderQr, type QrFactors } from './qr.js';
export { jacobiSvd, type SvdFactors } from './svd.js';
