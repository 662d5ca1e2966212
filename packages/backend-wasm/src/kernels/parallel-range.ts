import type { WasmContext } from '../context.js';
import { splitRange } from '../threads/split.js';
import type { ParallelKernel } from '../wasm/exports.js';

/**
 * What one unit of a streaming kernel costs, in matmul multiply-adds (the
 * unit of `minParallelWork`): rough weights, not measurements, that keep
 * small calls on one thread. A copied or added float is memory traffic, an
 * exp a few dozen vector operations, a normalised row element float64
 * arithmetic, a Philox block (ten rounds of scalar 64-bit products) about
 * ten exps, a multiply-add in an f64x2 lane (half as many lanes as f32x4) two.
 */
export const UNIT_COST = Object.freeze({ copy: 2, arithmetic: 4, exp: 12, float64: 16, f64Madd: 2, philox: 128 });

/**
 * Runs `kernel` over units `[0, total)` (elements or rows) cut into parts
 * of whole `align` units, spread over the threads; `call(start, end)` gives
 * a part's arguments. Every unit is computed by the same code whichever
 * part it falls in, so results do not depend on the thread count: the
 * caller picks `align` so that this holds (whole broadcast periods, whole
 * f32x4 vectors).
 */
export function parallelRange(
  ctx: WasmContext,
  kernel: ParallelKernel,
  total: number,
  cost: number,
  align: number,
  call: (start: number, end: number) => readonly number[],
): void {
  ctx.parallel(
    kernel,
    splitRange(total, ctx.partsFor(total * cost), align).map(([start, end]) => call(start, end)),
  );
}
