import {
  adamwGeometry,
  bottomKGeometry,
  guardedGradScale,
  loraImportanceGeometry,
  maskApplyGeometry,
  type AdamwOptions,
  type DeviceTensor,
  type LoraImportanceResult,
} from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** {@link Kernels.adamwStep}, in place. */
export function adamwStep(ctx: WasmContext, param: DeviceTensor, grad: DeviceTensor, m: DeviceTensor, v: DeviceTensor, options: AdamwOptions): void {
  const { size, gradScale: scale } = adamwGeometry(param, grad, m, v, options);
  const [pp, pg, pm, pv] = [ctx.address(param), ctx.address(grad), ctx.address(m), ctx.address(v)];
  const { lr, beta1, beta2, eps, weightDecay, step, guard } = options;
  const gradScale = guardedGradScale(scale, guard, (t) => ctx.scalar(t));
  if (gradScale === undefined) return;
  ctx.exports.adamwStep(pp, pg, pm, pv, size, lr, beta1, beta2, eps, weightDecay, gradScale, lr / (1 - beta1 ** step), Math.sqrt(1 - beta2 ** step));
}

/**
 * {@link Kernels.loraImportance}: the factors widened to f64 on this
 * thread, then W's rows (their signs and B's scores) split across the
 * threads, then A's columns (assembly/importance.ts).
 */
export function loraImportance(ctx: WasmContext, a: DeviceTensor, b: DeviceTensor, n: DeviceTensor): LoraImportanceResult {
  const { rank, inFeatures: inF, outFeatures: outF } = loraImportanceGeometry(a, b, n);
  const [pa, pb, pn] = [ctx.address(a), ctx.address(b), ctx.address(n)];
  const scoreA = ctx.output(a.shape, 'f32');
  const scoreB = ctx.output(b.shape, 'f32');
  if (rank > 0) {
    const { exports } = ctx;
    ctx.withScratch(exports.loraImportanceScratchBytes(rank, inF, outF), (scratch) => {
      exports.loraImportancePrepare(pa, pb, pn, rank, inF, outF, scratch);
      // Two f64 multiply-adds (W's entry, then B's scores) per rank and entry of W, then one (A's scores).
      parallelRange(ctx, 'loraImportanceRows', outF, 2 * rank * inF * UNIT_COST.f64Madd, 2, (start, end) => [
        rank,
        inF,
        outF,
        scoreB.address,
        scratch,
        start,
        end,
      ]);
      parallelRange(ctx, 'loraImportanceColumns', inF, rank * outF * UNIT_COST.f64Madd, 2, (start, end) => [
        pn,
        rank,
        inF,
        outF,
        scoreA.address,
        scratch,
        start,
        end,
      ]);
    });
  }
  return { a: scoreA.handle, b: scoreB.handle };
}

/** {@link Kernels.bottomKMask}: radix select per group. */
export function bottomKMask(ctx: WasmContext, scores: DeviceTensor, k: number): DeviceTensor {
  const { groups, n } = bottomKGeometry(scores, k);
  const ps = ctx.address(scores);
  const mask = ctx.output(scores.shape, 'u8');
  ctx.withScratch(n * 8, (keys) => ctx.exports.bottomKMask(ps, groups, n, k, mask.address, keys));
  return mask.handle;
}

/** {@link Kernels.maskApply}, in place. */
export function maskApply(ctx: WasmContext, param: DeviceTensor, mask: DeviceTensor, init?: DeviceTensor): void {
  const size = maskApplyGeometry(param, mask, init);
  const [pp, pm] = [ctx.address(param), ctx.address(mask)];
  // Address 0 means "no init": the arena never hands it out.
  ctx.exports.maskApply(pp, pm, init ? ctx.address(init) : 0, size);
}
