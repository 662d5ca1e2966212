// The backend's memory high-water marks in what train and adapt print: the
// done event of `train --json`, the summary of `adapt --json`, and the
// plan they check before the first step, on the wasm backend.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendMemoryPeaks } from '@lorafuse/core';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-memory-'));
const model = await writeByteModel(join(dir, 'model'));
const data = join(dir, 'data.jsonl');
await writeFile(
  data,
  ['ls lists directory contents', 'cp copies files', 'rm removes files'].map((source) => JSON.stringify({ source, summary: source.split(' ')[0] })).join('\n') +
    '\n',
);

const peaks = (memory: BackendMemoryPeaks | undefined) => {
  expect(memory?.bytesInUse).toBeGreaterThan(0);
  // wasm: the top is the highest address handed out, at least the base plus what was in use.
  expect(memory!.top!).toBeGreaterThanOrEqual(memory!.bytesInUse);
};

describe('memory in the output', () => {
  it('train --json: the done event carries the wasm peaks (bytes in use and top)', async () => {
    const { code, out } = await cli(
      'train',
      '--model',
      model,
      '--train',
      data,
      '--out',
      join(dir, 'trained'),
      '--backend',
      'wasm',
      '--batch-size',
      '2',
      '--json',
    );
    expect(code).toBe(0);
    const done = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; memory?: BackendMemoryPeaks })
      .find((e) => e.type === 'done');
    peaks(done?.memory);
  });

  it('adapt --json: the summary carries them; a budget below the plan fails before the first step with the plan', async () => {
    const { code, out: stdout } = await cli('train', '--model', model, '--train', data, '--out', join(dir, 'target'), '--backend', 'wasm', '--quiet');
    expect(code).toBe(0);
    const args = ['adapt', '--model', model, '--target', join(dir, 'target'), '--train', data, '--backend', 'wasm', '--batch-size', '2'];
    const run = await cli(...args, '--out', join(dir, 'adapted'), '--json');
    expect(run.code).toBe(0);
    peaks((JSON.parse(run.out) as { memory?: BackendMemoryPeaks }).memory);
    expect(stdout).toBe('');
    const refused = await cli(...args, '--out', join(dir, 'refused'), '--memory-budget', '64KiB');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^lorafuse: This run needs about .* on the wasm backend, but at most 64\.0 KiB is available/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });
});
