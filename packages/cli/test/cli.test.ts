import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, writeSafetensors } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-cli-'));
await writeSafetensors(nodeFolder(dir), 'w.safetensors', { 'layer.weight': new Tensor('bf16', [3, 5]), bias: Tensor.f32([3], [1, 2, 3]) }, { format: 'pt' });

describe('lorafuse', () => {
  it('lists its commands and exits 2 without one', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.out).toContain('info');
    expect((await cli('--help')).code).toBe(0);
  });

  it('rejects unknown commands and options with one line and exit code 2', async () => {
    for (const argv of [['frobnicate'], ['info', 'x', '--frob'], ['info']]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^lorafuse: .*\[(CLI_USAGE|UNKNOWN_OPTION)\]\n$/);
    }
  });
});

describe('lorafuse info on safetensors', () => {
  it('prints the §5 JSON', async () => {
    const r = await cli('info', join(dir, 'w.safetensors'), '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      kind: 'safetensors',
      tensors: [
        { name: 'layer.weight', dtype: 'BF16', shape: [3, 5] },
        { name: 'bias', dtype: 'F32', shape: [3] },
      ],
      parameters: 18,
      metadata: { format: 'pt' },
    });
  });

  it('prints a readable table', async () => {
    const r = await cli('info', join(dir, 'w.safetensors'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 tensors, 18 parameters/);
    expect(r.out).toMatch(/layer\.weight\s+BF16\s+\[3, 5\]/);
  });

  it.each([
    ['a missing file', 'missing.safetensors', 'FILE_NOT_FOUND'],
    ['a truncated file', 'truncated.safetensors', 'SAFETENSORS_HEADER_TRUNCATED'],
    ['a folder that is neither adapter nor model', '.', 'FILE_NOT_FOUND'],
  ])('fails on %s with one line, its code and exit 1', async (_what, file, code) => {
    await writeFile(join(dir, 'truncated.safetensors'), new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    const r = await cli('info', join(dir, file), '--json');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`[${code}]`);
    expect(JSON.parse(r.out).error.code).toBe(code);
  });
});
