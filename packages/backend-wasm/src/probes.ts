/**
 * Tiny WebAssembly modules, assembled by hand, that each use one optional
 * feature. `WebAssembly.validate` accepts a probe exactly when the engine
 * supports its feature, without compiling or running anything.
 *
 * Every probe is: the 8-byte header, a type section with one signature, a
 * function section declaring one function of that type, then its body.
 * Section layout: id byte, byte length of the rest, entry count, entries.
 */

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1

// Type section (id 1): one signature `() -> v128` (0x60 = func, 0 params, 1 result, 0x7b = v128).
const TYPE_RETURNS_V128 = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b];
// Type section (id 1): one signature `() -> i32` (0x7f = i32).
const TYPE_RETURNS_I32 = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f];
// Function section (id 3): one function, of type 0.
const ONE_FUNCTION = [0x03, 0x02, 0x01, 0x00];

const I32_ZERO = [0x41, 0x00]; // i32.const 0
const I8X16_SPLAT = [0xfd, 0x0f]; // i8x16.splat: SIMD prefix 0xfd, opcode 15
const END = 0x0b;

/** Code section (id 10) with one body: no locals, then `instructions`, then `end`. */
function codeSection(instructions: readonly number[]): number[] {
  const body = [0x00, ...instructions, END]; // 0x00 = no local declarations
  return [0x0a, body.length + 2, 0x01, body.length, ...body];
}

/** SIMD128: `i8x16.splat(0)` returning a v128. */
export const SIMD_PROBE = new Uint8Array([...HEADER, ...TYPE_RETURNS_V128, ...ONE_FUNCTION, ...codeSection([...I32_ZERO, ...I8X16_SPLAT])]);

/**
 * Relaxed SIMD: `f32x4.relaxed_madd(a, b, c)` (the fused multiply-add the
 * relaxed kernels use) on three zero vectors. Opcode 0x105, LEB128-encoded
 * after the SIMD prefix as 0x85 0x02.
 */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  ...HEADER,
  ...TYPE_RETURNS_V128,
  ...ONE_FUNCTION,
  ...codeSection([...I32_ZERO, ...I8X16_SPLAT, ...I32_ZERO, ...I8X16_SPLAT, ...I32_ZERO, ...I8X16_SPLAT, 0xfd, 0x85, 0x02]),
]);

/**
 * Threads: a shared memory and an atomic load from it. Memory section (id 5):
 * one memory, limits flag 0x03 (has maximum, shared), 1 page minimum and
 * maximum (shared memories must declare a maximum). Body: `i32.atomic.load`
 * (prefix 0xfe, opcode 0x10, alignment 2 = 4 bytes, offset 0) at address 0.
 */
export const THREADS_PROBE = new Uint8Array([
  ...HEADER,
  ...TYPE_RETURNS_I32,
  ...ONE_FUNCTION,
  ...[0x05, 0x04, 0x01, 0x03, 0x01, 0x01],
  ...codeSection([...I32_ZERO, 0xfe, 0x10, 0x02, 0x00]),
]);
