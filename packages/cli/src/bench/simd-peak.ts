import { Worker } from 'node:worker_threads';

/**
 * The ceiling a wasm matmul can approach on this machine: GFLOP/s of a
 * loop of independent f32x4 multiply-adds on registers alone (no memory
 * traffic, no loads, no packing), run on `threads` worker threads at once.
 * Bench lines divide by it, so a reader can tell a slow kernel from a
 * ceiling that SIMD128 itself sets.
 */

/** Independent accumulators: enough to cover the multiply-add latency (4 cycles × 2 ports on current x86 cores). */
const CHAINS = 10;
/** FLOPs of one f32x4 multiply-add: four lanes, a multiply and an add each. */
const FLOPS_PER_MADD = 8;
/** Loop iterations a round runs per thread (about 50 ms at 45 GFLOP/s). */
const ITERATIONS = 30_000_000;
/** Rounds; the best is the peak (short rounds, so that one of them is likely to miss what else the machine runs). */
const ROUNDS = 10;
/** The longest a round may take before the measurement gives up (a worker that died, a machine stalled). */
const ROUND_TIMEOUT_MS = 20_000;

const ENCODER = new TextEncoder();

/** Bytes of a wasm section: its id, then its length-prefixed content. */
function section(id: number, content: readonly number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}

/** Unsigned LEB128. */
function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** `v128.const` of four equal f32 lanes. */
function splat(x: number): number[] {
  const lane = [...new Uint8Array(Float32Array.of(x).buffer)];
  return [0xfd, 0x0c, ...lane, ...lane, ...lane, ...lane];
}

const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const F32X4_ADD = [0xfd, 0xe4, 0x01];
const F32X4_MUL = [0xfd, 0xe6, 0x01];
const F32X4_RELAXED_MADD = [0xfd, 0x85, 0x02];
const F32X4_EXTRACT_LANE_0 = [0xfd, 0x1f, 0x00];

/**
 * A module exporting `run(iterations: i32): f32`. Locals 1…CHAINS are the
 * accumulators, then the factor and the addend; each iteration sets every
 * accumulator to `acc·factor + addend`, fused (`relaxed`) or as a multiply
 * then an add (plain SIMD128, whose peak is half). The result is returned
 * so that no engine can drop the loop.
 */
export function simdPeakModule(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const factor = CHAINS + 1;
  const addend = CHAINS + 2;
  const body: number[] = [0x01, CHAINS + 2, 0x7b]; // CHAINS + 2 locals of type v128
  for (let i = 1; i <= CHAINS; i++) body.push(...splat(i / 16), LOCAL_SET, i);
  body.push(...splat(0.999), LOCAL_SET, factor, ...splat(1 / 1024), LOCAL_SET, addend);
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(LOCAL_GET, 0, 0x45, 0x0d, 0x01); // leave when iterations == 0
  for (let i = 1; i <= CHAINS; i++) {
    if (relaxed) body.push(LOCAL_GET, i, LOCAL_GET, factor, LOCAL_GET, addend, ...F32X4_RELAXED_MADD);
    else body.push(LOCAL_GET, i, LOCAL_GET, factor, ...F32X4_MUL, LOCAL_GET, addend, ...F32X4_ADD);
    body.push(LOCAL_SET, i);
  }
  body.push(LOCAL_GET, 0, 0x41, 0x01, 0x6b, LOCAL_SET, 0); // iterations -= 1
  body.push(0x0c, 0x00, 0x0b, 0x0b); // br loop; end loop; end block
  body.push(LOCAL_GET, 1);
  for (let i = 2; i <= CHAINS; i++) body.push(LOCAL_GET, i, ...F32X4_ADD);
  body.push(...F32X4_EXTRACT_LANE_0, 0x0b);
  const name = [...ENCODER.encode('run')];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7d]), // type (i32) -> f32
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, name.length, ...name, 0x00, 0x00]),
    ...section(10, [0x01, ...leb128(body.length), ...body]),
  ]);
}

/** FLOPs one `run(iterations)` call of {@link simdPeakModule} performs. */
export function simdPeakFlops(iterations: number): number {
  return iterations * CHAINS * FLOPS_PER_MADD;
}

// Each worker compiles the module, warms it up, says it is ready, then runs
// round r once the start word reaches r and counts itself done.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, iterations, rounds, control } = workerData;
const run = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run;
for (let i = 0; i < 8; i++) run(iterations >> 6);
const word = new Int32Array(control);
parentPort.postMessage('ready');
for (let r = 1; r <= rounds; r++) {
  while (Atomics.load(word, 0) < r) Atomics.wait(word, 0, r - 1);
  run(iterations);
  Atomics.add(word, 1, 1);
  Atomics.notify(word, 1);
}
`;

/**
 * The SIMD multiply-add peak of `threads` threads in GFLOP/s: the best of
 * a few rounds in which every thread runs the same loop, started together,
 * a round lasting until the slowest thread ends. Rejects when the engine
 * rejects the module (relaxed SIMD behind a flag that is not set), a
 * worker fails to start, or a round outlasts {@link ROUND_TIMEOUT_MS}.
 */
export async function measureSimdPeak(threads: number, relaxed: boolean): Promise<number> {
  const bytes = simdPeakModule(relaxed);
  if (!WebAssembly.validate(bytes)) throw new Error(`this engine does not run ${relaxed ? 'relaxed SIMD' : 'SIMD128'}`);
  // Word 0: the round that may start; word 1: rounds × threads finished.
  const control = new SharedArrayBuffer(8);
  const word = new Int32Array(control);
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: { bytes, iterations: ITERATIONS, rounds: ROUNDS, control } }),
  );
  try {
    await Promise.all(workers.map((worker) => new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))));
    let best = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      const t0 = performance.now();
      Atomics.store(word, 0, r);
      Atomics.notify(word, 0);
      for (let done = Atomics.load(word, 1); done < r * threads; done = Atomics.load(word, 1)) {
        const left = ROUND_TIMEOUT_MS - (performance.now() - t0);
        if (left <= 0) throw new Error(`a round of the SIMD peak took over ${ROUND_TIMEOUT_MS / 1000} s`);
        Atomics.wait(word, 1, done, left);
      }
      best = Math.max(best, (threads * simdPeakFlops(ITERATIONS)) / ((performance.now() - t0) * 1e6));
    }
    return best;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
