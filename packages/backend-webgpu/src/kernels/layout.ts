import { LoraFuseError, permuteGeometry, reshapeGeometry, shapeSize, type DeviceTensor, type Shape } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { ELEMENT_BYTES } from './element-words.js';
import { MAIN_1D, cachedShader } from './wgsl.js';

const MAX_RANK = 8;

/** {@link Kernels.reshape}: a view, the same buffer under the new shape. */
export function reshape(ctx: KernelContext, x: DeviceTensor, shape: Shape): DeviceTensor {
  return ctx.view(x, reshapeGeometry(x, shape));
}

// One thread per output u32 word, assembling 1, 2 or 4 elements, so that
// sub-word dtypes are written without races. The walk over the dimensions
// is unrolled for the tensor's rank: CPU adapters run integer division one
// lane at a time, and the outermost dimension needs none.
const permuteShader = cachedShader((elementBytes: 1 | 2 | 4, rank: number): string => {
  const perWord = 4 / elementBytes;
  const bits = elementBytes * 8;
  const read = elementBytes === 4 ? 'x[s]' : `(x[s / ${perWord}u] >> ((s % ${perWord}u) * ${bits}u)) & ${(2 ** bits - 1).toString()}u`;
  const at = (field: string, d: number) => `p.${field}[${d >> 2}u].${'xyzw'[d & 3]}`;
  const steps = Array.from({ length: rank }, (_, i) => rank - 1 - i).map((d) =>
    d === 0
      ? `  s = s + rest * ${at('strides', d)};`
      : `  { let q = rest / ${at('shape', d)}; s = s + (rest - q * ${at('shape', d)}) * ${at('strides', d)}; rest = q; }`,
  );
  return `@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
struct P { n: u32, rank: u32, a: u32, b: u32, shape: array<vec4u, 2>, strides: array<vec4u, 2> }
@group(0) @binding(2) var<uniform> p: P;
fn source(o: u32) -> u32 {
  var rest = o;
  var s = 0u;
${steps.join('\n')}
  return s;
}
${MAIN_1D}
  if (i * ${perWord}u >= p.n) { return; }
  var w = 0u;
  for (var j = 0u; j < ${perWord}u; j = j + 1u) {
    let o = i * ${perWord}u + j;
    if (o < p.n) {
      let s = source(o);
      w = w | ((${read}) << (j * ${bits}u));
    }
  }
  y[i] = w;
}`;
});

/** {@link Kernels.permute} for tensors of rank ≤ 8, any dtype, bit-exact. */
export function permute(ctx: KernelContext, x: DeviceTensor, axes: readonly number[]): DeviceTensor {
  const g = permuteGeometry(x, axes);
  if (g.shape.length > MAX_RANK) {
    throw new LoraFuseError('INVALID_OPTION', `permute: the webgpu backend permutes up to ${MAX_RANK} dimensions, got ${g.shape.length}.`, {
      details: { kernel: 'permute' },
    });
  }
  const source = ctx.buffer(x);
  const [out, target] = ctx.output(g.shape, x.dtype);
  const size = shapeSize(g.shape);
  const pad = (values: readonly number[]) => Array.from({ length: MAX_RANK }, (_, i) => values[i] ?? 1);
  const elementBytes = ELEMENT_BYTES[x.dtype];
  ctx.run(
    permuteShader(elementBytes, g.shape.length),
    [source, target],
    [size, g.shape.length, 0, 0, ...pad(g.shape), ...pad(g.strides)],
    groupsFor(Math.ceil(size / (4 / elementBytes))),
  );
  return out;
}
