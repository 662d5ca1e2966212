import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { wasmFeatures } from '@lorafuse/backend-wasm';
import { RELAXED_SIMD_PROBE, SIMD_PROBE, THREADS_PROBE } from '../src/probes.js';

const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const nodeMajor = Number(process.versions.node.split('.')[0]);
// V8 ships relaxed SIMD from Node 22; Node 20 has it only behind the flag.
const relaxedByDefault = nodeMajor >= 22 || process.execArgv.includes(RELAXED_FLAG);

/** What a fresh Node process with `flags` says about each probe. */
function validateInChild(flags: string[]): Record<string, boolean> {
  const probes = { simd: [...SIMD_PROBE], relaxed: [...RELAXED_SIMD_PROBE], threads: [...THREADS_PROBE] };
  const script =
    'const p = JSON.parse(process.argv[1]); const r = {};' +
    'for (const k in p) r[k] = WebAssembly.validate(new Uint8Array(p[k]));' +
    'process.stdout.write(JSON.stringify(r));';
  return JSON.parse(execFileSync(process.execPath, [...flags, '-e', script, JSON.stringify(probes)], { encoding: 'utf8' })) as Record<string, boolean>;
}

describe('wasmFeatures', () => {
  afterEach(() => {
    delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  });

  it('reports what this Node supports: SIMD and threads, relaxed SIMD only where shipped or flagged', () => {
    expect(wasmFeatures()).toEqual({ simd: true, relaxedSimd: relaxedByDefault, threads: true });
  });

  it('has well-formed probes: all three validate once relaxed SIMD is enabled', () => {
    expect(validateInChild([RELAXED_FLAG])).toEqual({ simd: true, relaxed: true, threads: true });
  });

  // From Node 22 relaxed SIMD is shipped and no flag turns it off.
  it.skipIf(nodeMajor >= 22)('rejects the relaxed probe in a Node without relaxed SIMD', () => {
    expect(validateInChild([])).toEqual({ simd: true, relaxed: false, threads: true });
  });

  it('refuses threads in a browser page that is not cross-origin isolated', () => {
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = false;
    expect(wasmFeatures().threads).toBe(false);
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = true;
    expect(wasmFeatures().threads).toBe(true);
  });
});
