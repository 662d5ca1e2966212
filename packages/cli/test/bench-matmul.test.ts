// `lorafuse bench matmul`: the JSON Lines contract, the output check that
// voids a wrong implementation's timing, and peers that are not installed.
// Speed itself is what the bench measures; nothing here asserts it.
import { describe, expect, it } from 'vitest';
import type { MatmulImpl } from '../src/bench/matmul-impl.js';
import type { MatmulPeer } from '../src/bench/matmul-peers.js';
import { benchMatmul } from '../src/commands/bench-matmul.js';
import { cli } from './cli-helpers.js';
import { captureIO } from './cli-helpers.js';

/** Row-major `a·b` in float64, written here independently of the bench; `dropLast` leaves out the last k term (a broken kernel). */
function product(a: Float32Array, b: Float32Array, m: number, k: number, n: number, dropLast = false): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < (dropLast ? k - 1 : k); t++) s += a[i * k + t] * b[t * n + j];
      c[i * n + j] = s;
    }
  return c;
}

function hostImpl(impl: string, dropLast = false): MatmulImpl {
  return {
    impl,
    backend: 'host',
    threads: 1,
    prepare: async (a, b, m, k, n) => ({ run: async () => product(a, b, m, k, n, dropLast), free() {} }),
    dispose: async () => {},
  };
}

const peer = (impl: string, load: () => Promise<MatmulImpl>): MatmulPeer => ({ impl, packages: [`@example/${impl}`], load });
describe('lorafuse bench matmul', () => {
  it('prints one JSON line per implementation and shape, with GFLOP/s and our ratio to each peer', async () => {
    const { io: sink, text: io } = captureIO();
    const code = await benchMatmul(['--backend', 'reference', '--shapes', '8x16x4,3x5x7', '--repeats', '3', '--json'], sink, {
      peers: [peer('host-peer', async () => hostImpl('host-peer'))],
    });
    expect(code).toBe(0);
    const lines = io.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.impl, l.m, l.k, l.n])).toEqual([
      ['lorafuse', 8, 16, 4],
      ['host-peer', 8, 16, 4],
      ['lorafuse', 3, 5, 7],
      ['host-peer', 3, 5, 7],
    ]);
    for (const [ours, other] of [lines.slice(0, 2), lines.slice(2)]) {
      expect(ours).toMatchObject({ bench: 'matmul', impl: 'lorafuse', backend: 'reference', threads: 1 });
      expect(other).toMatchObject({ bench: 'matmul', impl: 'host-peer', backend: 'host', threads: 1 });
      expect(other.ratio).toBeUndefined();
      for (const l of [ours, other]) {
        expect(l.median_ms).toBeGreaterThan(0);
        expect(l.gflops).toBeCloseTo((2 * (l.m as number) * (l.k as number) * (l.n as number)) / ((l.median_ms as number) * 1e6), 9);
      }
      expect((ours.ratio as Record<string, number>)['host-peer']).toBeCloseTo((other.median_ms as number) / (ours.median_ms as number), 9);
    }
  });

  it('rejects an implementation whose product is wrong, ours or a peer', async () => {
    const args = ['--backend', 'reference', '--shapes', '4x16x6', '--repeats', '1', '--json'];
    await expect(benchMatmul(args, captureIO().io, { ours: async () => hostImpl('lorafuse', true), peers: [] })).rejects.toMatchObject({
      code: 'BENCH_WRONG_RESULT',
    });
    await expect(benchMatmul(args, captureIO().io, { peers: [peer('bad', async () => hostImpl('bad', true))] })).rejects.toThrow(
      /bad gave a wrong 4×16×6 product/,
    );
  });

  it('reports a peer that is not installed as skipped and measures the rest', async () => {
    const { io: sink, text: io } = captureIO();
    const missing = peer('absent', () => import(/* @vite-ignore */ ['@tensorflow', 'not-an-installed-peer'].join('/')));
    await benchMatmul(['--backend', 'reference', '--shapes', '2x3x4', '--repeats', '1'], sink, { peers: [missing] });
    expect(io.err).toMatch(/skipped absent: not installed \(npm install -D @example\/absent\)/);
    expect(io.out).toMatch(/2×3×4\s+lorafuse\s+reference/);
    expect(io.out).not.toMatch(/absent/);
  });

  it('measures the installed wasm peers next to our wasm backend through the CLI', async () => {
    const { code, out } = await cli('bench', 'matmul', '--backend', 'wasm', '--simd', 'plain', '--shapes', '16x32x8', '--repeats', '1', '--json');
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.impl)).toEqual(['lorafuse', 'tfjs-wasm', 'jax-js']);
    expect(lines[0]).toMatchObject({ backend: 'wasm', simd: 'plain', ratio: { 'tfjs-wasm': expect.any(Number), 'jax-js': expect.any(Number) } });
  });

  it('runs our wasm backend on the threads asked for, and says when a peer runs fewer', async () => {
    const { code, out, err } = await cli(
      'bench',
      'matmul',
      '--backend',
      'wasm',
      '--simd',
      'plain',
      '--threads',
      '2',
      '--shapes',
      '16x32x64',
      '--repeats',
      '1',
      '--json',
    );
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0], err).toMatchObject({ impl: 'lorafuse', backend: 'wasm', threads: 2, ratio: { 'lorafuse-1-thread': expect.any(Number) } });
    expect(lines[1]).toMatchObject({ impl: 'lorafuse-1-thread', backend: 'wasm', threads: 1 });
    // jax-js is single-threaded (tfjs-wasm too under Node, but it loads once per process).
    expect(lines.find((l) => l.impl === 'jax-js')).toMatchObject({ threads: 1 });
    expect(err).toMatch(/jax-js runs 1 thread\(s\) here, not 2/);
  });

  it('refuses options it cannot honour', async () => {
    expect((await cli('bench', 'matmul', '--backend', 'webgpu', '--simd', 'plain')).err).toMatch(/--simd takes plain or relaxed, with --backend wasm only/);
    expect((await cli('bench', 'matmul', '--threads', '0')).err).toMatch(/--threads must be an integer ≥ 1/);
    expect((await cli('bench', 'matmul', '--backend', 'reference', '--threads', '2')).err).toMatch(/--threads takes more than 1 with --backend wasm only/);
    expect((await cli('bench', 'matmul', '--shapes', '4x4')).err).toMatch(/--shapes takes MxKxN/);
  });
});
