import { MAX_CALLS } from './control.js';

/**
 * Default of {@link WasmBackendOptions.minParallelWork}: about 0.25 ms of
 * one core's matmul. Smaller parts gain less than a worker that wakes late
 * or is preempted mid-part can cost on a busy machine.
 */
export const DEFAULT_MIN_PARALLEL_WORK = 1 << 20;

/**
 * Parts per thread a split kernel call is cut into. Threads claim parts one
 * at a time, so a thread that gets less of a core (a busy machine, a slow
 * core) takes fewer parts instead of holding everyone up.
 */
const PARTS_PER_THREAD = 4;

/** Parts to cut `work` into: 1 on one thread, else a few per thread, each with at least `minWork` (0: no minimum), within the control block's capacity. */
export function partCount(work: number, threads: number, minWork: number): number {
  if (threads === 1) return 1;
  const byWork = minWork <= 0 ? Infinity : Math.floor(work / minWork);
  return Math.max(1, Math.min(threads * PARTS_PER_THREAD, MAX_CALLS, byWork));
}
