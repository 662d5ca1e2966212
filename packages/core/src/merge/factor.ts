import type { Tensor } from '../tensor/index.js';
import { matrix, type Matrix } from '../linalg/index.js';

/** A 2-D float tensor (a LoRA factor) as a float64 matrix, optionally multiplied by `scale`. */
export function factorMatrix(tensor: Tensor, scale = 1): Matrix {
  const values = tensor.toFloat32();
  const m = matrix(tensor.shape[0], tensor.shape[1]);
  for (let i = 0; i < values.length; i++) m.data[i] = values[i] * scale;
  return m;
}
