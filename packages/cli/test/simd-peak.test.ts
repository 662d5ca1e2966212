// The SIMD peak `bench train` divides by: the hand-encoded module computes
// what it claims (checked against the recurrence in float64), so the FLOPs
// counted per call are FLOPs it does, and the threaded measurement runs.
import { describe, expect, it } from 'vitest';
import { measureSimdPeak, simdPeakFlops, simdPeakModule } from '../src/bench/simd-peak.js';
import { enableRelaxedSimd } from '../src/relaxed-simd.js';

// As the command does, so that Node 20 runs the relaxed module too.
enableRelaxedSimd();

/** Σ over ten chains started at i/16 of n steps of acc ← 0.999·acc + 1/1024, in float64. */
function expected(n: number): number {
  let total = 0;
  for (let i = 1; i <= 10; i++) {
    let acc = i / 16;
    for (let s = 0; s < n; s++) acc = Math.fround(0.999) * acc + 1 / 1024;
    total += acc;
  }
  return total;
}

describe('simdPeakModule', () => {
  for (const relaxed of [false, true]) {
    it(`${relaxed ? 'relaxed' : 'plain'}: run(n) is n multiply-add steps of ten f32x4 chains`, () => {
      const run = (new WebAssembly.Instance(new WebAssembly.Module(simdPeakModule(relaxed))).exports as { run: (n: number) => number }).run;
      for (const n of [0, 1, 7, 1000]) expect(run(n)).toBeCloseTo(expected(n), 4);
      // 10 chains × 4 lanes × (multiply + add) per step.
      expect(simdPeakFlops(1000)).toBe(1000 * 10 * 4 * 2);
    });
  }
});

describe('measureSimdPeak', () => {
  it('measures a finite positive rate on one thread and on two', async () => {
    for (const [threads, relaxed] of [
      [1, false],
      [2, true],
    ] as const) {
      const peak = await measureSimdPeak(threads, relaxed);
      expect(Number.isFinite(peak)).toBe(true);
      expect(peak).toBeGreaterThan(0);
    }
  });
});
