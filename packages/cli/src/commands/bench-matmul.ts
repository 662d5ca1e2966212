import { LoraFuseError } from '@lorafuse/core';
import { parseCommand } from '../args.js';
import { createBenchBackend } from '../bench/backend.js';
import { checkMatmulSample, randomMatrix } from '../bench/matmul-check.js';
import { lorafuseMatmul, type MatmulImpl } from '../bench/matmul-impl.js';
import { MATMUL_PEERS, type MatmulPeer } from '../bench/matmul-peers.js';
import { jsonLine, table } from '../format.js';
import type { CliIO } from '../io.js';
import { parseSeed } from '../runtime.js';
import { median } from '../bench/stats.js';

/** M×K×N of the backend issues: two large projections, the skinny LoRA products (rank 8) and the smol config's FFN-like shapes. */
const MATMUL_SHAPES: readonly (readonly [number, number, number])[] = [
  [256, 1024, 1024],
  [1024, 1024, 1024],
  [2048, 576, 8],
  [2048, 8, 576],
  [256, 576, 1536],
  [256, 1536, 576],
];

/** The `impl` of our own backend on one thread, timed next to a multi-threaded run. */
const SINGLE_THREAD_IMPL = 'lorafuse-1-thread';

/** Untimed runs before the timed ones: shader compilation, JIT tiers and buffer pools settle here. */
const WARMUP = 2;

/** Usage of `lorafuse bench matmul`. */
export const BENCH_MATMUL_USAGE = `Usage: lorafuse bench matmul --backend wasm|webgpu|reference [--simd plain|relaxed]
                             [--threads n] [--shapes MxKxN,...] [--repeats n] [--json]

Times a·b (random f32 inputs already on the device, result read back) with
our backend and, in the same run and the same loop (one run of each per round), its peers: tfjs-wasm
(XNNPACK, asked for the same thread count) and jax-js (1 thread) for wasm,
tfjs-webgpu on the same adapter for webgpu. Peers are optional packages; a
missing one is reported and skipped, and a peer that runs fewer threads than
asked is reported. Every result is checked against float64 on a sample of entries.
  --backend  wasm (default), webgpu or reference
  --simd     wasm build: plain or relaxed (default relaxed; the command
             turns relaxed SIMD on under Node 20, where V8 has it behind a flag)
  --threads  wasm threads (default 1; tfjs-wasm runs 1 under Node); above 1,
             our backend on 1 thread is timed too (impl lorafuse-1-thread),
             so ratio["lorafuse-1-thread"] is the speedup
  --shapes   comma-separated MxKxN, default the six shapes of the backend issues
  --repeats  timed rounds after ${WARMUP} warm-up rounds, default 5 (the median is reported)
  --json     JSON Lines: {"bench":"matmul","impl","backend","threads","m","k","n","median_ms","gflops"},
             our lines add "ratio": {peer: our GFLOP/s ÷ the peer's}
`;

/** Replaceable parts of the bench, for tests. */
export interface BenchMatmulHooks {
  /** Our implementation; default: the matmul kernel of the named backend. */
  readonly ours?: (backend: string, simd: string | undefined, threads: number) => Promise<MatmulImpl>;
  /** The peers to measure; default {@link MATMUL_PEERS} of the backend. */
  readonly peers?: readonly MatmulPeer[];
}

interface Measurement {
  readonly impl: MatmulImpl;
  readonly ms: number;
}

/** Runs `lorafuse bench matmul`. */
export async function benchMatmul(argv: string[], io: CliIO, hooks: BenchMatmulHooks = {}): Promise<number> {
  const { values } = parseCommand('bench matmul', argv, {
    simd: { type: 'string' },
    shapes: { type: 'string' },
    repeats: { type: 'string' },
    threads: { type: 'string' },
  });
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `bench matmul: ${why} See \`lorafuse bench matmul --help\`.`);
  const backendName = typeof values.backend === 'string' ? values.backend : 'wasm';
  if (!(backendName in MATMUL_PEERS)) throw usage(`--backend must be ${Object.keys(MATMUL_PEERS).join(', ')}, got ${backendName}.`);
  const simd = typeof values.simd === 'string' ? values.simd : undefined;
  if (simd !== undefined && (backendName !== 'wasm' || !['plain', 'relaxed'].includes(simd)))
    throw usage(`--simd takes plain or relaxed, with --backend wasm only.`);
  const threads = values.threads === undefined ? 1 : Number(values.threads);
  if (!Number.isSafeInteger(threads) || threads < 1) throw usage(`--threads must be an integer ≥ 1, got ${String(values.threads)}.`);
  if (threads > 1 && backendName !== 'wasm') throw usage(`--threads takes more than 1 with --backend wasm only.`);
  const repeats = values.repeats === undefined ? 5 : Number(values.repeats);
  if (!Number.isSafeInteger(repeats) || repeats < 1) throw usage(`--repeats must be an integer ≥ 1, got ${String(values.repeats)}.`);
  const shapes = typeof values.shapes === 'string' ? parseShapes(values.shapes, usage) : MATMUL_SHAPES;
  const seed = parseSeed(values.seed);

  const createImpl = hooks.ours ?? createOurs;
  const impls = [await createImpl(backendName, simd, threads)];
  // With threads, our 1-thread run in the same loop gives the speedup as a ratio.
  if (threads > 1) impls.push({ ...(await createImpl(backendName, simd, 1)), impl: SINGLE_THREAD_IMPL });
  for (const peer of hooks.peers ?? MATMUL_PEERS[backendName]) {
    try {
      const impl = await peer.load(threads);
      if (impl.threads !== threads) io.err(`bench matmul: ${peer.impl} runs ${impl.threads} thread(s) here, not ${threads}.\n`);
      impls.push(impl);
    } catch (error) {
      const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      io.err(
        `bench matmul: skipped ${peer.impl}: ${missing ? `not installed (npm install -D ${peer.packages.join(' ')})` : (error as Error).message.split('\n')[0]}\n`,
      );
    }
  }

  const rows: unknown[][] = [];
  try {
    for (const [m, k, n] of shapes) {
      const a = randomMatrix(m * k, seed * 2 + 1);
      const b = randomMatrix(k * n, seed * 2 + 2);
      const times = await timeRounds(impls, a, b, m, k, n, repeats);
      const measured: Measurement[] = impls.map((impl, i) => ({ impl, ms: median(times[i]) }));
      const gflops = (ms: number) => (2 * m * k * n) / (ms * 1e6);
      const [ours, ...peers] = measured;
      const ratio = Object.fromEntries(peers.map((p) => [p.impl.impl, p.ms / ours.ms]));
      for (const { impl, ms } of measured) {
        const line = {
          bench: 'matmul',
          impl: impl.impl,
          backend: impl.backend,
          threads: impl.threads,
          m,
          k,
          n,
          median_ms: ms,
          gflops: gflops(ms),
          ...(impl === ours.impl ? { ...(simd ? { simd } : {}), ...(impl.device ? { device: impl.device } : {}), ratio } : {}),
        };
        if (values.json) io.out(jsonLine(line));
        rows.push([`${m}×${k}×${n}`, impl.impl, impl.backend, ms.toFixed(2), gflops(ms).toFixed(2), impl === ours.impl ? '' : `${(ms / ours.ms).toFixed(2)}×`]);
      }
    }
  } finally {
    for (const impl of impls) await impl.dispose();
  }
  if (!values.json) {
    io.out(
      `Matmul a·b, f32, ${threads === 1 ? '1 thread' : `${threads} threads`}, median of ${repeats} rounds after ${WARMUP} warm-up rounds${simd ? `, wasm ${simd} SIMD` : ''}\n\n` +
        table(['M×K×N', 'impl', 'backend', 'median ms', 'GFLOP/s', 'lorafuse ÷ peer'], rows),
    );
  }
  return 0;
}

function parseShapes(text: string, usage: (why: string) => LoraFuseError): [number, number, number][] {
  return text.split(',').map((spec) => {
    const dims = spec.trim().split(/[x×]/).map(Number);
    if (dims.length !== 3 || !dims.every((d) => Number.isSafeInteger(d) && d >= 1)) throw usage(`--shapes takes MxKxN with positive integers, got "${spec}".`);
    return dims as [number, number, number];
  });
}

async function createOurs(name: string, simd: string | undefined, threads: number): Promise<MatmulImpl> {
  return lorafuseMatmul(await createBenchBackend(name, { simd, threads }), threads);
}

/**
 * Runs every implementation once per round, warm-up rounds first, and
 * returns each one's timed runs. Alternating within a round spreads load
 * from elsewhere on the machine over all implementations alike.
 */
async function timeRounds(
  impls: readonly MatmulImpl[],
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  repeats: number,
): Promise<number[][]> {
  const prepared = [];
  try {
    for (const impl of impls) prepared.push(await impl.prepare(a, b, m, k, n));
    const times = impls.map((): number[] => []);
    for (let round = 0; round < WARMUP + repeats; round++) {
      for (const [i, impl] of impls.entries()) {
        const t0 = performance.now();
        const c = await prepared[i].run();
        const ms = performance.now() - t0;
        checkMatmulSample(impl.impl, a, b, c, m, k, n);
        if (round >= WARMUP) times[i].push(ms);
      }
    }
    return times;
  } finally {
    for (const p of prepared) p.free();
  }
}
