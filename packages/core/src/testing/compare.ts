import type { Tensor } from '../tensor/index.js';

/** Thrown by the conformance checks when a backend disagrees with the reference. */
export class ConformanceMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceMismatch';
  }
}

const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function isNaNBits(dtype: Tensor['dtype'], bits: number): boolean {
  switch (dtype) {
    case 'f16':
      return (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;
    case 'bf16':
      return (bits & 0x7f80) === 0x7f80 && (bits & 0x007f) !== 0;
    default:
      return false;
  }
}

/** Element `i` of a tensor as its raw bits (floats) or value (integers), for exact comparison. */
function exactView(t: Tensor): ArrayLike<number | bigint> {
  return t.dtype === 'f32' ? new Uint32Array(t.data.buffer, t.data.byteOffset, t.size) : t.data;
}

function compareExact(actual: Tensor, expected: Tensor, label: string): void {
  const a = exactView(actual);
  const e = exactView(expected);
  const av = actual.data;
  const ev = expected.data;
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < e.length; i++) {
    const bothNaN =
      actual.dtype === 'f32'
        ? Number.isNaN(av[i] as number) && Number.isNaN(ev[i] as number)
        : isNaNBits(actual.dtype, a[i] as number) && isNaNBits(expected.dtype, e[i] as number);
    if (a[i] !== e[i] && !bothNaN) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  if (mismatches > 0) {
    throw new ConformanceMismatch(
      `${label}: ${mismatches} of ${e.length} elements differ from the reference (bit-exact ${actual.dtype}); first at ${first}: got ${String(av[first])}, expected ${String(ev[first])}.`,
    );
  }
}

/**
 * Relative L2 error of `actual` against `expected` over the positions where
 * the reference is finite (absolute L2 when the reference is all zeros).
 */
export function relativeL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i])) continue;
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff);
}

function compareClose(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  let worst = -1;
  let worstDiff = -1;
  for (let i = 0; i < e.length; i++) {
    const finite = Number.isFinite(e[i]);
    if (!finite || !Number.isFinite(a[i])) {
      // NaN never passes: non-finite values must be the same class on both sides.
      if (!(Object.is(a[i], e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i])))) {
        throw new ConformanceMismatch(`${label}: element ${i} is ${a[i]}, the reference has ${e[i]}.`);
      }
      continue;
    }
    const d = Math.abs(a[i] - e[i]);
    if (d > worstDiff) {
      worstDiff = d;
      worst = i;
    }
  }
  const error = relativeL2Error(a, e);
  if (error > tolerance) {
    throw new ConformanceMismatch(
      `${label}: relative L2 error ${error.toExponential(2)} exceeds ${tolerance.toExponential(0)}; worst element ${worst}: got ${a[worst]}, expected ${e[worst]}.`,
    );
  }
}

/**
 * Throws {@link ConformanceMismatch} unless `actual` matches `expected`:
 * same dtype and shape, then bit-exact (non-f32 outputs, or `tolerance` 0,
 * NaN matching any NaN) or within `tolerance` relative L2 error (f32).
 */
export function compareTensors(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  if (actual.dtype !== expected.dtype) throw new ConformanceMismatch(`${label}: dtype ${actual.dtype}, the reference gives ${expected.dtype}.`);
  const sameShape = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!sameShape) throw new ConformanceMismatch(`${label}: shape ${fmtShape(actual.shape)}, the reference gives ${fmtShape(expected.shape)}.`);
  if (actual.dtype === 'f32' && tolerance > 0) compareClose(actual, expected, tolerance, label);
  else compareExact(actual, expected, label);
}
