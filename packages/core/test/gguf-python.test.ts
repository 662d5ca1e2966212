// Optional live check of the llama.cpp LoRA export with the `gguf` Python
// package: each exported file is read back with its GGUFReader
// (scripts/gguf/check_lora_gguf.py), its names compared with its
// TensorNameMap and its tensors with the PEFT adapter's as PEFT loads it
// (after llama.cpp's q/k permutation and the documented scaling fold), and
// llama.cpp's alpha/rank·B·A with PEFT's scaled update.
//
// Needs the oracle Python with `gguf` (./oracle-python.ts;
// scripts/oracle-python.sh installs it): without one the suite skips with a
// message, and fails under CI=true. llama.cpp itself runs in `npm run check:gguf`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exportGgufAdapter, type GgufAdapterOptions, loadAdapter, loadModelConfig, type ModelConfig } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder, GGUF_CASES } from './fixtures/index.js';
import { oraclePython } from './oracle-python.js';

const CHECK = fileURLToPath(new URL('../../../scripts/gguf/check_lora_gguf.py', import.meta.url));

interface CheckResult {
  file: string;
  tensors: number;
  max_factor_error: number;
  max_delta_error: number;
  problems: string[];
}

const { python, why } = oraclePython(['gguf']);
if (!python) console.warn(`gguf-python: skipped: ${why}`);

describe.skipIf(!python)("the gguf package reads LoRAFuse's llama.cpp adapters back as PEFT's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'lorafuse-gguf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function exported(model: string, adapter: string, file: string, options?: GgufAdapterOptions, config?: ModelConfig): Promise<string[]> {
    const result = exportGgufAdapter(await loadAdapter(fixtureFolder(adapter)), config ?? (await loadModelConfig(fixtureFolder(model))), options);
    await nodeFolder(dir).write(file, result.bytes);
    return [join(FIXTURES, model), join(FIXTURES, adapter), join(dir, file)];
  }

  function check(triples: string[][]): CheckResult[] {
    const run = spawnSync(python!, [CHECK, ...triples.flat()], { encoding: 'utf8', timeout: 280_000, maxBuffer: 16 << 20 });
    if (run.status !== 0 && run.status !== 1) throw new Error(`check_lora_gguf.py failed (${run.status}): ${run.stderr}`);
    return run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CheckResult);
  }

  it('names, metadata and every tensor of each fixture adapter, in f32 and f16', { timeout: 300_000 }, async () => {
    const triples = await Promise.all([
      ...GGUF_CASES.map(([model, adapter]) => exported(model, adapter, `${adapter}.gguf`)),
      exported('llama-tiny', 'lora-rslora', 'lora-rslora.f16.gguf', { dtype: 'f16' }),
      exported('qwen2-tiny', 'lora-qwen2', 'lora-qwen2.f16.gguf', { dtype: 'f16' }),
      exported('qwen3-tiny', 'lora-qwen3', 'lora-qwen3.gguf'),
    ]);
    const results = check(triples);
    expect(results).toHaveLength(triples.length);
    for (const r of results) {
      expect(r.problems, r.file).toEqual([]);
      expect(r.tensors, r.file).toBeGreaterThan(0);
      if (!r.file.endsWith('.f16.gguf')) expect(r.max_factor_error, r.file).toBe(0);
    }
  });

  it('the check fails a file without the Llama q/k permutation', { timeout: 300_000 }, async () => {
    const llama = await loadModelConfig(fixtureFolder('llama-tiny'));
    // Exported as if the base were Qwen2: q/k rows of B keep Hugging Face's order.
    const [result] = check([await exported('llama-tiny', 'lora-qv-r8', 'unpermuted.gguf', {}, { ...llama, modelType: 'qwen2' })]);
    expect(result.problems.some((p) => p.startsWith('general.architecture'))).toBe(true);
    expect(result.problems.some((p) => p.startsWith('blk.0.attn_q.weight.lora_b'))).toBe(true);
    expect(result.problems.some((p) => p.startsWith('blk.0.attn_v.weight.lora_b'))).toBe(false);
    expect(result.problems.some((p) => p.startsWith('alpha/rank * B @ A'))).toBe(true);
  });
});
