import type { DeviceTensor } from '../../backend/device-tensor.js';
import { broadcastGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Shared body of `add` and `mul`: `b` repeats over `a`'s leading dimensions. */
export function broadcastBinary(store: HostStore, kernel: 'add' | 'mul', a: DeviceTensor, b: DeviceTensor, op: (x: number, y: number) => number): DeviceTensor {
  const { size, bSize, shape } = broadcastGeometry(kernel, a, b);
  const av = floats(store.tensor(a));
  const bv = floats(store.tensor(b));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = op(av[i], bv[i % bSize]);
  return keepF32(store, shape, out);
}
