// `lorafuse eval --json` on the golden fixture model reproduces PyTorch's
// mean loss (the float64 loss of packages/core/test/fixtures/grads) within
// 1e-5. The fixture batch is token ids of a 64-word vocabulary, so the test
// gives the model folder a word-level tokenizer.json mapping "t<i>" to id i
// and writes the batch as JSONL: row 0 is a {"text"} record (every token
// after the first counts), row 1 a {"source","summary"} pair with the
// template "{source}" (its first three targets are ignored, so the source is
// its first four tokens).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';

const words = (ids: readonly number[]) => ids.map((i) => `t${i}`).join(' ');

describe('lorafuse eval on the golden fixtures', () => {
  it.each([
    ['llama-all7', 'llama-tiny', 'lora-all7'],
    ['qwen2', 'qwen2-tiny', 'lora-qwen2'],
  ])('%s: the loss PyTorch computed in float64, within 1e-5', async (grads, modelName, adapter) => {
    const file = await SafetensorsFile.open(await fileSource(join(FIXTURES, 'grads', `${grads}.safetensors`)));
    const expected = (JSON.parse(file.metadata.fixture) as { loss: number }).loss;
    const ids = Array.from((await file.read('input_ids')).data as BigInt64Array, Number);
    const targets = Array.from((await file.read('targets')).data as BigInt64Array, Number);
    const [row0, row1] = [ids.slice(0, 10), ids.slice(10)];
    // The layout this test relies on: row 0 counts every next token, row 1 the next tokens from position 3 on.
    expect(targets.slice(0, 10)).toEqual([...row0.slice(1), -100]);
    expect(targets.slice(10)).toEqual([-100, -100, -100, ...row1.slice(4), -100]);

    const dir = mkdtempSync(join(tmpdir(), 'lorafuse-golden-'));
    const model = join(dir, 'model');
    const config = JSON.parse(readFileSync(join(FIXTURES, modelName, 'config.json'), 'utf8')) as { vocab_size: number };
    mkdirSync(model);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, modelName, f), join(model, f));
    const vocab = Object.fromEntries(Array.from({ length: config.vocab_size }, (_, i) => [`t${i}`, i]));
    writeFileSync(
      join(model, 'tokenizer.json'),
      JSON.stringify({
        version: '1.0',
        truncation: null,
        padding: null,
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: { type: 'Whitespace' },
        post_processor: null,
        decoder: null,
        model: { type: 'WordLevel', vocab, unk_token: 't0' },
      }),
    );
    const data = join(dir, 'batch.jsonl');
    writeFileSync(
      data,
      [JSON.stringify({ text: words(row0) }), JSON.stringify({ source: words(row1.slice(0, 4)), summary: words(row1.slice(4)) })].join('\n') + '\n',
    );

    const r = await cli(
      'eval',
      '--model',
      model,
      '--adapter',
      join(FIXTURES, adapter),
      '--data',
      data,
      '--template',
      '{source}',
      '--backend',
      'reference',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { loss: number; tokens: number };
    expect(report.tokens).toBe(targets.filter((t) => t !== -100).length);
    expect(Math.abs(report.loss - expected)).toBeLessThanOrEqual(1e-5);
  });
});
