// `lorafuse export --format gguf` end to end: the file it writes is the one
// the `gguf` Python package's GGUFWriter wrote from PEFT's tensors
// (packages/core/test/fixtures/gguf, by scripts/fixtures/make_gguf_fixtures.py),
// and bad input exits with a one-line typed error.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-export-'));
const fixture = (name: string) => join(FIXTURES, name);
const reference = (name: string) => readFile(join(FIXTURES, 'gguf', name));

describe('lorafuse export --format gguf', () => {
  it("writes the gguf package's bytes for a Llama adapter, and summarises the file with --json", async () => {
    const out = join(dir, 'nested', 'rslora.gguf');
    const r = await cli('export', fixture('lora-rslora'), '--model', fixture('llama-tiny'), '--format', 'gguf', '--out', out, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(Buffer.compare(await readFile(out), await reference('lora-rslora.gguf'))).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ format: 'gguf', out, architecture: 'llama', alpha: 32, dtype: 'f32', bytes: (await reference('lora-rslora.gguf')).length });
    expect(summary.modules).toHaveLength(8);
    expect(summary.modules[1]).toEqual({
      name: 'model.layers.0.self_attn.o_proj',
      tensor: 'blk.0.attn_output.weight',
      r: 4,
      scaling: 4,
      fold: 0.5,
      permuted: false,
    });
  });

  it('f16 with a general.name, on a Qwen2 adapter, in text', async () => {
    const f16 = join(dir, 'f16.gguf');
    const a = await cli('export', fixture('lora-qv-r8'), '--model', fixture('llama-tiny'), '--dtype', 'f16', '--name', 'lora-qv-r8 f16', '--out', f16);
    expect(a.code).toBe(0);
    expect(Buffer.compare(await readFile(f16), await reference('lora-qv-r8.f16.gguf'))).toBe(0);
    const qwen = join(dir, 'qwen2.gguf');
    const b = await cli('export', fixture('lora-qwen2'), '--model', fixture('qwen2-tiny'), '--out', qwen);
    expect(b.code).toBe(0);
    expect(b.out).toContain('architecture qwen2');
    expect(b.out).toContain('blk.1.attn_q.weight');
    expect(Buffer.compare(await readFile(qwen), await reference('lora-qwen2.gguf'))).toBe(0);
  });

  it.each([
    ['no --model', [fixture('lora-qv-r8'), '--out', join(dir, 'x.gguf')], 2, 'CLI_USAGE'],
    ['no --out', [fixture('lora-qv-r8'), '--model', fixture('llama-tiny')], 2, 'CLI_USAGE'],
    ['an unknown format', [fixture('lora-qv-r8'), '--model', fixture('llama-tiny'), '--format', 'onnx', '--out', join(dir, 'x')], 2, 'CLI_USAGE'],
    ['a bf16 dtype', [fixture('lora-qv-r8'), '--model', fixture('llama-tiny'), '--dtype', 'bf16', '--out', join(dir, 'x')], 2, 'CLI_USAGE'],
    ['two adapters', [fixture('lora-qv-r8'), fixture('lora-all7'), '--model', fixture('llama-tiny'), '--out', join(dir, 'x')], 2, 'CLI_USAGE'],
    ['a DoRA adapter', [fixture('lora-dora'), '--model', fixture('llama-tiny'), '--out', join(dir, 'x')], 1, 'ADAPTER_UNSUPPORTED'],
    ['a model that is not there', [fixture('lora-qv-r8'), '--model', join(dir, 'missing'), '--out', join(dir, 'x')], 1, 'MODEL_CONFIG_MISSING'],
  ])('refuses %s', async (_, argv, code, errorCode) => {
    const r = await cli('export', ...argv);
    expect(r.code).toBe(code);
    expect(r.err).toContain(`[${errorCode}]`);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
