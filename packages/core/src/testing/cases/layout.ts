import { Tensor, shapeSize, type Shape } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { InputRandom } from '../input-random.js';

function anyTensor(rng: InputRandom, dtype: 'f32' | 'bf16' | 'i32' | 'u8', shape: Shape): Tensor {
  const n = shapeSize(shape);
  switch (dtype) {
    case 'f32':
      return new Tensor('f32', shape, rng.bitPatterns(n));
    case 'bf16':
      return new Tensor(
        'bf16',
        shape,
        Uint16Array.from({ length: n }, () => rng.u32() & 0xffff),
      );
    case 'i32':
      return new Tensor(
        'i32',
        shape,
        Int32Array.from({ length: n }, () => rng.u32() | 0),
      );
    case 'u8':
      return new Tensor(
        'u8',
        shape,
        Uint8Array.from({ length: n }, () => rng.u32() & 0xff),
      );
  }
}

/** Cases of reshape, permute, concat and slice (bit-exact, every dtype). */
export function layoutCases(): ConformanceCase[] {
  const perm = (name: string, dtype: 'f32' | 'bf16' | 'i32' | 'u8', shape: Shape, axes: number[]) =>
    kernelCase({ kernel: 'permute', name, inputs: (rng) => [anyTensor(rng, dtype, shape)], call: (k, [x]) => k.permute(x, axes) });
  const resh = (name: string, dtype: 'f32' | 'bf16' | 'i32' | 'u8', from: Shape, to: Shape) =>
    kernelCase({ kernel: 'reshape', name, inputs: (rng) => [anyTensor(rng, dtype, from)], call: (k, [x]) => k.reshape(x, to) });
  const cat = (name: string, dtype: 'f32' | 'bf16' | 'i32' | 'u8', a: Shape, b: Shape, axis: number, large = false) =>
    kernelCase({
      kernel: 'concat',
      name,
      large,
      inputs: (rng) => [anyTensor(rng, dtype, a), anyTensor(rng, dtype, b)],
      call: (k, [x, y]) => k.concat(x, y, axis),
    });
  const cut = (name: string, dtype: 'f32' | 'bf16' | 'i32' | 'u8', shape: Shape, axis: number, start: number, length: number, large = false) =>
    kernelCase({
      kernel: 'slice',
      name,
      large,
      inputs: (rng) => [anyTensor(rng, dtype, shape)],
      call: (k, [x]) => k.slice(x, axis, start, length),
    });
  return [
    perm('[B, S, H, D] -> [B, H, S, D] f32', 'f32', [2, 5, 3, 4], [0, 2, 1, 3]),
    perm('matrix transpose bf16', 'bf16', [7, 3], [1, 0]),
    perm('reverse rank 4 i32', 'i32', [2, 3, 4, 5], [3, 2, 1, 0]),
    perm('identity u8', 'u8', [6, 5], [0, 1]),
    perm('scalar', 'f32', [], []),
    perm('empty dimension', 'f32', [3, 0, 2], [2, 0, 1]),
    resh('[6, 4] -> [2, 3, 4] f32', 'f32', [6, 4], [2, 3, 4]),
    resh('to a scalar', 'i32', [1, 1], []),
    resh('u8 flatten', 'u8', [3, 5], [15]),
    cat('KV cache [B, KV, S, D] + one step f32', 'f32', [2, 3, 5, 4], [2, 3, 1, 4], 2),
    cat('odd bf16 blocks on axis 1', 'bf16', [3, 5, 3], [3, 2, 3], 1),
    cat('u8 on the last axis', 'u8', [3, 7], [3, 6], 1),
    cat('i32 on axis 0', 'i32', [2, 3], [5, 3], 0),
    cat('empty a', 'f32', [2, 0, 3], [2, 4, 3], 1),
    cat('empty b', 'bf16', [1, 3, 5], [1, 3, 0], 2),
    cat('large f32 cache', 'f32', [1, 8, 1000, 64], [1, 8, 999, 64], 2, true),
    // A fused q/k/v projection [B, S, (H + 2·KV)·D] split into its parts.
    cut('fused qkv: the keys of [2, 5, 28]', 'f32', [2, 5, 28], 2, 16, 6),
    cut('fused qkv: the values, to the end', 'f32', [2, 5, 28], 2, 22, 6),
    cut('first half of the last axis', 'f32', [3, 10], 1, 0, 5),
    cut('odd bf16 blocks on axis 1', 'bf16', [3, 7, 3], 1, 2, 3),
    cut('u8 middle of the last axis', 'u8', [5, 9], 1, 3, 5),
    cut('i32 rows on axis 0', 'i32', [6, 3], 0, 2, 3),
    cut('one element', 'f32', [1, 1], 1, 0, 1),
    cut('empty slice', 'f32', [4, 3], 1, 3, 0),
    cut('the whole axis', 'bf16', [2, 3, 4], 2, 0, 4),
    cut('large fused gate/up', 'f32', [512, 2 * 1031], 1, 1031, 1031, true),
    rejectionCase({
      kernel: 'slice',
      name: 'a slice past the end',
      code: 'INVALID_OPTION',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 5])],
      call: (k, [x]) => k.slice(x, 1, 3, 3),
    }),
    rejectionCase({
      kernel: 'slice',
      name: 'an axis out of range',
      code: 'INVALID_OPTION',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 5])],
      call: (k, [x]) => k.slice(x, 2, 0, 1),
    }),
    rejectionCase({
      kernel: 'concat',
      name: 'shapes that differ off the axis',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 3]), anyTensor(rng, 'f32', [3, 3])],
      call: (k, [x, y]) => k.concat(x, y, 1),
    }),
    rejectionCase({
      kernel: 'concat',
      name: 'two dtypes',
      code: 'DTYPE_MISMATCH',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 3]), anyTensor(rng, 'i32', [2, 3])],
      call: (k, [x, y]) => k.concat(x, y, 0),
    }),
    rejectionCase({
      kernel: 'concat',
      name: 'an axis out of range',
      code: 'INVALID_OPTION',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 3]), anyTensor(rng, 'f32', [2, 3])],
      call: (k, [x, y]) => k.concat(x, y, 2),
    }),
    rejectionCase({
      kernel: 'permute',
      name: 'a repeated axis',
      code: 'INVALID_OPTION',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 3])],
      call: (k, [x]) => k.permute(x, [0, 0]),
    }),
    rejectionCase({
      kernel: 'reshape',
      name: 'a different element count',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [anyTensor(rng, 'f32', [2, 3])],
      call: (k, [x]) => k.reshape(x, [7]),
    }),
  ];
}
