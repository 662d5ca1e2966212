// The Node side of the end-to-end checks, loaded through Vite's module
// runner so the packages resolve to their sources: the inputs, the command
// line, and the comparison of two PEFT adapters tensor by tensor.
import { SafetensorsFile, bytesSource, memoryFolder } from '@lorafuse/core';
import { WasmBackend } from '@lorafuse/backend-wasm';
import { DEMO_ADAPTER_DIR, QUICK_DEMO_SETTINGS, runDemo } from '@lorafuse/demo';
import { cli as cliRun } from '../../packages/cli/test/cli-helpers.js';

export { writeFlowInputs } from './inputs.js';

/** Runs the `lorafuse` command line in this process; rejects with its standard error when it fails. */
export async function cli(argv: readonly string[]): Promise<string> {
  const { code, out, err } = await cliRun(...argv);
  if (code !== 0) throw new Error(`lorafuse ${argv.join(' ')} exited ${code}: ${err}`);
  return out;
}

/** The quick demo in Node on the wasm backend (plain SIMD, one thread): its table by method and its adapter's weights file. */
export async function nodeDemo(seed: number): Promise<{ losses: Record<string, number>; weights: Uint8Array }> {
  const backend = await WasmBackend.create({ simd: 'plain', threads: 1 });
  try {
    const out = memoryFolder();
    const result = await runDemo({ backend, out, settings: QUICK_DEMO_SETTINGS, seed });
    return { losses: Object.fromEntries(result.rows.map((r) => [r.method, r.loss])), weights: out.files.get(`${DEMO_ADAPTER_DIR}/adapter_model.safetensors`)! };
  } finally {
    await backend.dispose();
  }
}

/** Largest relative L2 difference over the tensors of two adapter_model.safetensors files; Infinity when their tensor lists differ. */
export async function adapterDifference(a: Uint8Array, b: Uint8Array): Promise<number> {
  const fa = await SafetensorsFile.open(bytesSource(a));
  const fb = await SafetensorsFile.open(bytesSource(b));
  const names = fa.tensors.map((t) => t.name).sort();
  if (
    names.join() !==
    fb.tensors
      .map((t) => t.name)
      .sort()
      .join()
  )
    return Infinity;
  let worst = 0;
  for (const name of names) {
    const x = (await fa.read(name)).toFloat32();
    const y = (await fb.read(name)).toFloat32();
    if (x.length !== y.length) return Infinity;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) {
      diff += (x[i] - y[i]) ** 2;
      norm += y[i] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30));
  }
  return worst;
}
