import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, Tensor } from '@lorafuse/core';

// Independent decoders, written from the IEEE 754 definitions with DataView.
function f16Value(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * (m / 1024) * 2 ** -14 : s * (1 + m / 1024) * 2 ** (e - 15);
}
function f32FromBits(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits >>> 0);
  return dv.getFloat32(0);
}
const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f16 conversion', () => {
  it('decodes every bit pattern exactly', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const want = f16Value(h);
      const got = f16BitsToF32(h);
      if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('encodes every representable value to itself (zeros keep their sign, NaN stays NaN)', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const back = f32ToF16Bits(f16Value(h));
      if (isNaN16(h) ? !isNaN16(back) : back !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('rounds halfway cases to even and nudged ones to the nearer neighbour', () => {
    // Midpoints between consecutive positive finite f16 values are exact in f32.
    const bad: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16Value(h);
      const hi = f16Value(h + 1);
      const mid = (lo + hi) / 2;
      const even = h % 2 === 0 ? h : h + 1;
      const below = Math.fround(mid - (mid - lo) / 4);
      const above = Math.fround(mid + (hi - mid) / 4);
      const ok = f32ToF16Bits(mid) === even && f32ToF16Bits(-mid) === (even | 0x8000) && f32ToF16Bits(below) === h && f32ToF16Bits(above) === h + 1;
      if (!ok) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('overflows to infinity exactly past the largest finite value', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // halfway to 2^16 rounds to even = infinity
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // halfway to the smallest subnormal: even is 0
    expect(f32ToF16Bits(Math.fround(2 ** -25 * 1.0001))).toBe(1);
  });
});

describe('bf16 conversion', () => {
  it('decodes and re-encodes every bit pattern', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const want = f32FromBits(h << 16);
      const got = bf16BitsToF32(h);
      const back = f32ToBf16Bits(want);
      const ok = Number.isNaN(want) ? Number.isNaN(got) && (back & 0x7f80) === 0x7f80 && (back & 0x7f) !== 0 : Object.is(got, want) && back === h;
      if (!ok) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('rounds halfway cases to even', () => {
    for (let h = 0; h < 0x7f7f; h += 7) {
      const mid = f32FromBits((h << 16) | 0x8000);
      expect(f32ToBf16Bits(mid)).toBe(h % 2 === 0 ? h : h + 1);
      expect(f32ToBf16Bits(f32FromBits((h << 16) | 0x7fff))).toBe(h);
      expect(f32ToBf16Bits(f32FromBits((h << 16) | 0x8001))).toBe(h + 1);
    }
    // The largest finite bf16 rounds up to infinity past its halfway point.
    expect(f32ToBf16Bits(f32FromBits(0x7f7f8000))).toBe(0x7f80);
  });

  it('keeps the sign of NaN payloads quiet', () => {
    expect(f32ToBf16Bits(f32FromBits(0xff800001)) & 0xffc0).toBe(0xffc0);
  });
});

describe('Tensor', () => {
  it('checks that the data fits the shape', () => {
    expect(() => new Tensor('f32', [2, 3], new Float32Array(5))).toThrowError(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => new Tensor('f32', [2, -1])).toThrowError(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(new Tensor('i64', []).size).toBe(1);
    expect(new Tensor('u8', [0, 4]).size).toBe(0);
  });

  it('casts between float dtypes through f32 with round-to-nearest-even', () => {
    const t = Tensor.f32([4], [1 + 2 ** -11, 1 + 3 * 2 ** -11, NaN, -Infinity]);
    const h = t.castFloat('f16');
    expect([...h.data]).toEqual([0x3c00, 0x3c02, h.data[2], 0xfc00]);
    expect(isNaN16(h.data[2])).toBe(true);
    const back = h.castFloat('f32').data;
    expect(back[0]).toBe(1);
    expect(Number.isNaN(back[2])).toBe(true);
    expect(t.castFloat('bf16').castFloat('f32').data[0]).toBe(1);
    expect(() => new Tensor('i32', [1]).castFloat('f16')).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_DTYPE' }));
  });

  it('widens integer dtypes by value', () => {
    expect([...new Tensor('i64', [2], BigInt64Array.from([-3n, 2n ** 40n])).toFloat32()]).toEqual([-3, 2 ** 40]);
  });
});
