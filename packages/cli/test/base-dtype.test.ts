// --base-dtype on the commands that load a model: the f32 byte model held
// as bf16 scores exactly as the same model saved as bf16 does, and the plan
// counts its matrices at 2 bytes.
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors, type MemoryPlan, type Tensor } from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-base-dtype-'));
const f32 = await writeByteModel(join(dir, 'f32'));
const bf16 = join(dir, 'bf16');
const stored = await SafetensorsFile.open(await fileSource(join(f32, 'model.safetensors')));
const tensors: Record<string, Tensor> = {};
for (const { name, shape } of stored.tensors) tensors[name] = shape.length === 2 ? (await stored.read(name)).castFloat('bf16') : await stored.read(name);
await writeSafetensors(nodeFolder(bf16), 'model.safetensors', tensors);
await copyFile(join(f32, 'config.json'), join(bf16, 'config.json'));
const data = join(dir, 'data.jsonl');
await writeFile(data, `${JSON.stringify({ text: 'the quick brown fox jumps over the lazy dog' })}\n`);

describe('--base-dtype', () => {
  it('eval: an f32 model held as bf16 gives the loss of the model saved as bf16, bit for bit', async () => {
    const loss = async (...args: string[]) => {
      const { code, out } = await cli('eval', '--data', data, '--backend', 'wasm', '--json', ...args);
      expect(code).toBe(0);
      return (JSON.parse(out) as { loss: number }).loss;
    };
    const converted = await loss('--model', f32, '--base-dtype', 'bf16');
    expect(converted).toBe(await loss('--model', bf16));
    expect(converted).not.toBe(await loss('--model', f32));
  });

  it('plan: counts the matrices at 2 bytes; a bad value is a usage error', async () => {
    const weights = async (...args: string[]) => {
      const { code, out } = await cli('plan', '--model', f32, '--backend', 'reference', '--max-length', '16', '--json', ...args);
      expect(code).toBe(0);
      return (JSON.parse(out) as MemoryPlan).breakdown.weights;
    };
    const matrices = stored.tensors.filter((t) => t.shape.length === 2).reduce((n, t) => n + t.size * 2, 0);
    expect((await weights()) - (await weights('--base-dtype', 'bf16'))).toBe(matrices);
    const bad = await cli('train', '--model', f32, '--train', data, '--out', join(dir, 'x'), '--base-dtype', 'f8');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--base-dtype must be f32, bf16 or f16, got f8/);
  });
});
