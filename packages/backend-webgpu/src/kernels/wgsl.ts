import type { DeviceDType } from '@lorafuse/core';

// WGSL fragments shared by the kernels. Bit-level helpers work on u32 so that
// NaN payloads, signed zeros and subnormals survive compilers that assume
// finite floats or flush denormals.

/**
 * Remembers the WGSL a generator makes for each argument list, so that a
 * kernel called every step builds its shader once and the pipeline cache
 * finds it by a string it has already hashed.
 */
export function cachedShader<A extends ReadonlyArray<string | number | boolean>>(make: (...args: A) => string): (...args: A) => string {
  const made = new Map<string, string>();
  return (...args: A) => {
    const key = args.join('\u0000');
    let code = made.get(key);
    if (code === undefined) {
      code = make(...args);
      made.set(key, code);
    }
    return code;
  };
}

/** The entry point header of a one-dimensional kernel with 256 threads per workgroup; `i` is the thread index. */
export const MAIN_1D = /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;`;

/** NaN tests on the bits, and a quiet NaN. */
export const NAN = /* wgsl */ `
fn isNanBits(b: u32) -> bool { return (b & 0x7fffffffu) > 0x7f800000u; }
fn isNan(x: f32) -> bool { return isNanBits(bitcast<u32>(x)); }
fn nan() -> f32 {
  // Through a variable: a constant NaN is a shader-creation error.
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}
`;

/** Exact widening of f16 and bf16 bit patterns to f32 bit patterns. */
export const HALF_TO_F32 = /* wgsl */ `
fn f16ToF32Bits(h: u32) -> u32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  let normal = ((e + 112u) << 23u) | (m << 13u);
  let special = 0x7f800000u | (m << 13u);
  // A subnormal f16 is m·2⁻²⁴, a normal f32 computed exactly (branch-free,
  // which keeps shaders that inline this many times quick to compile).
  let small = bitcast<u32>(f32(m) * 5.9604644775390625e-8);
  return s | select(select(normal, special, e == 31u), small, e == 0u);
}
fn bf16ToF32Bits(h: u32) -> u32 { return h << 16u; }
fn halfAt(words: u32, i: u32) -> u32 { return (words >> ((i & 1u) * 16u)) & 0xffffu; }
`;

/** The WGSL element type of a buffer holding `dtype` (sub-word types are packed into u32). */
export function wgslArray(dtype: DeviceDType): string {
  return dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : 'u32';
}

/**
 * A loader `fn <name>At(i: u32) -> f32` for a read-only float buffer `name`
 * of `dtype` (f32, f16 or bf16), widening half types exactly. Include
 * {@link HALF_TO_F32} in the shader.
 */
export function floatLoader(name: string, dtype: DeviceDType): string {
  if (dtype === 'f32') return `fn ${name}At(i: u32) -> f32 { return ${name}[i]; }`;
  const widen = dtype === 'f16' ? 'f16ToF32Bits' : 'bf16ToF32Bits';
  return `fn ${name}At(i: u32) -> f32 { return bitcast<f32>(${widen}(halfAt(${name}[i >> 1u], i))); }`;
}

/** Bits of element `i` of a float buffer `name` of `dtype`, widened to f32 bits: `fn <name>Bits(i: u32) -> u32`. */
export function floatBitsLoader(name: string, dtype: DeviceDType): string {
  if (dtype === 'f32') return `fn ${name}Bits(i: u32) -> u32 { return ${name}[i]; }`;
  const widen = dtype === 'f16' ? 'f16ToF32Bits' : 'bf16ToF32Bits';
  return `fn ${name}Bits(i: u32) -> u32 { return ${widen}(halfAt(${name}[i >> 1u], i)); }`;
}

/**
 * `fn <name>(lid: u32, v: f32) -> f32`: combines one value per thread of a
 * workgroup of `size` threads (a power of two) with `op` (WGSL over `a`
 * and `b`) by a fixed tree; call from uniform control flow. With one thread
 * it is the value itself and needs no barrier.
 */
export function workgroupReduce(name: string, op: string, size: number): string {
  if (size === 1) return `fn ${name}(lid: u32, v: f32) -> f32 { return v; }\n`;
  const combine = op.replace(/\ba\b/g, `${name}Part[lid]`).replace(/\bb\b/g, `${name}Part[lid + stride]`);
  return /* wgsl */ `
var<workgroup> ${name}Part: array<f32, ${size}>;
fn ${name}(lid: u32, v: f32) -> f32 {
  workgroupBarrier();
  ${name}Part[lid] = v;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) { ${name}Part[lid] = ${combine}; }
    workgroupBarrier();
  }
  return ${name}Part[0];
}
`;
}

/**
 * How the row kernels spread rows over threads. On a GPU a workgroup of 256
 * threads shares one row. On a CPU adapter each thread walks a row of its
 * own, with no barrier: llvmpipe runs a workgroup's threads as the lanes of
 * one SIMD register (8 on AVX2), so 8 rows per workgroup keep every lane
 * busy, 3–7× faster than a workgroup of one thread per row.
 */
export interface RowLayout {
  /** Threads that share a row. */
  readonly threads: number;
  /** Rows per workgroup. */
  readonly rows: number;
}

/** The layout of the row kernels: rows share a workgroup only on a CPU adapter, one thread each. */
export const rowLayout = (cpuKernels: boolean): RowLayout => (cpuKernels ? { threads: 1, rows: 8 } : { threads: 256, rows: 1 });

/**
 * WGSL entry of a row kernel: `row` (returning when past `p.rows`) and
 * `part`, the thread's index within its row. A shared row is a function of
 * the workgroup alone, which WGSL's uniformity analysis needs before the
 * barriers of {@link workgroupReduce}.
 */
export function rowMain(layout: RowLayout): string {
  const [row, part] = layout.rows === 1 ? ['group', 'lid'] : [`group * ${layout.rows}u + lid`, '0u'];
  return /* wgsl */ `@compute @workgroup_size(${layout.threads * layout.rows})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  let row = ${row};
  let part = ${part};
  if (row >= p.rows) { return; }`;
}

/** Workgroups of a row kernel over `rows` rows. */
export const rowGroups = (cpuKernels: boolean, rows: number): number => Math.ceil(rows / rowLayout(cpuKernels).rows);
