// The Node side of the end-to-end checks, loaded through Vite's module
// runner so the packages resolve to their sources: the inputs, the fake Hub
// that serves them by id, the command line, and the comparison of two PEFT
// adapters tensor by tensor.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, bytesSource, memoryFolder } from '@lorafuse/core';
import { WasmBackend } from '@lorafuse/backend-wasm';
import { DEMO_ADAPTER_DIR, QUICK_DEMO_SETTINGS, runDemo } from '@lorafuse/demo';
import { cli as cliRun } from '../../packages/cli/test/cli-helpers.js';
import { type FakeHub, startFakeHub } from '../../packages/core/test/hub/fake-hub.js';
import type { FlowInputs } from './inputs.js';

export { writeFlowInputs } from './inputs.js';

/** The repositories {@link startInputsHub} serves: the flow's model, target and related adapter (the latter also under the tag `v1`). */
export const HUB_REPOS = { model: 'lorafuse-e2e/byte-llama', target: 'lorafuse-e2e/target-lora', related: 'lorafuse-e2e/related-lora' } as const;

async function folderFiles(dir: string): Promise<Record<string, Uint8Array>> {
  const names = await readdir(dir);
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, new Uint8Array(await readFile(join(dir, name)))] as const)));
}

/** Starts the fake Hub (packages/core/test/hub) on 127.0.0.1, serving the flow inputs under {@link HUB_REPOS}; it logs every request. */
export async function startInputsHub(inputs: FlowInputs): Promise<FakeHub> {
  const related = await folderFiles(inputs.related);
  return startFakeHub({
    [HUB_REPOS.model]: { revisions: { main: await folderFiles(inputs.model) } },
    [HUB_REPOS.target]: { revisions: { main: await folderFiles(inputs.target) } },
    [HUB_REPOS.related]: { revisions: { main: related, v1: related } },
  });
}

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
