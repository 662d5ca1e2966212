// `lorafuse generate` and `lorafuse eval --metric rouge` end to end on a
// byte-level bigram model written here: its layers add nothing (zero
// projections), so the logits depend only on the last token, and its
// lm_head makes " " → "g" → "o" → "-" → "u" → "p" → 0xC3 → 0xA9 → eos the
// greedy chain. Every prompt ending in a space therefore continues with
// "go-upé" and stops — the expected text and ROUGE are known by construction.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, expectedModelWeights, parseModelConfig, writeSafetensors } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-generate-'));
const VOCAB = 259;
const EOS = 257;
const CHAIN = [0x20, 0x67, 0x6f, 0x2d, 0x75, 0x70, 0xc3, 0xa9, EOS];
const TEXT = 'go-upé';

async function writeBigramModel(): Promise<string> {
  const config = JSON.parse(await readFile(join(FIXTURES, 'llama-tiny/config.json'), 'utf8')) as Record<string, unknown>;
  Object.assign(config, { vocab_size: VOCAB, num_hidden_layers: 1, bos_token_id: 256, eos_token_id: EOS, max_position_embeddings: 64 });
  const embed = new Float32Array(VOCAB * 32);
  const head = new Float32Array(VOCAB * 32);
  CHAIN.slice(0, -1).forEach((token, dim) => {
    embed[token * 32 + dim] = 1;
    head[CHAIN[dim + 1] * 32 + dim] = 10;
  });
  // Every projection zero, every norm one: the layer adds nothing to the embedding.
  const special: Record<string, Float32Array> = { 'model.embed_tokens.weight': embed, 'lm_head.weight': head };
  const tensors = expectedModelWeights(parseModelConfig(config)).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return [name, Tensor.f32([...shape], special[name] ?? new Float32Array(size).fill(shape.length === 1 ? 1 : 0))] as const;
  });
  const folder = join(dir, 'bigram');
  await writeSafetensors(nodeFolder(folder), 'model.safetensors', tensors);
  await writeFile(join(folder, 'config.json'), JSON.stringify(config));
  return folder;
}

const model = await writeBigramModel();
const tokens = [...new TextEncoder().encode(TEXT), EOS];

describe('lorafuse generate', () => {
  it('prints text, tokens and finish reason with --json, for greedy, sampling and beam search', async () => {
    for (const extra of [[], ['--temperature', '0.7', '--top-k', '5', '--top-p', '0.9', '--seed', '3'], ['--num-beams', '3']]) {
      const { code, out, err } = await cli('generate', '--model', model, '--prompt', 'hello ', '--backend', 'reference', '--json', ...extra);
      expect([code, err]).toEqual([0, '']);
      expect(JSON.parse(out)).toEqual({ text: TEXT, tokens, finish_reason: 'stop' });
    }
  });

  it('streams the text to stdout (a character cut between tokens is held back), and stops at --max-new-tokens', async () => {
    expect(await cli('generate', '--model', model, '--source', 'a record', '--max-new-tokens', '16', '--backend', 'reference')).toEqual({
      code: 0,
      out: `${TEXT}\n`,
      err: '',
    });
    const short = await cli('generate', '--model', model, '--prompt', 'x ', '--max-new-tokens', '3', '--backend', 'reference', '--json');
    expect(JSON.parse(short.out)).toEqual({ text: 'go-', tokens: tokens.slice(0, 3), finish_reason: 'length' });
  });

  it('refuses bad input with typed errors and exit codes', async () => {
    expect((await cli('generate', '--prompt', 'x')).code).toBe(2);
    expect((await cli('generate', '--model', model)).code).toBe(2);
    expect((await cli('generate', '--model', model, '--prompt', 'x', '--source', 'y')).code).toBe(2);
    expect((await cli('generate', '--model', model, '--prompt', 'x', '--num-beams', '2', '--top-k', '3')).code).toBe(2);
    expect((await cli('generate', '--model', model, '--prompt', 'x', '--top-p', '1.5')).code).toBe(2);
    const long = await cli('generate', '--model', model, '--prompt', 'x'.repeat(64), '--backend', 'reference');
    expect([long.code, long.err]).toEqual([1, expect.stringContaining('[CONTEXT_EXCEEDED]')]);
  });
});

describe('lorafuse eval --metric rouge', () => {
  it('scores greedy summaries generated from the training template', async () => {
    const data = join(dir, 'pairs.jsonl');
    // Generated for both: "go-upé" = words [go, upé]. Pair 1 matches it; pair 2 has [upé, down]:
    // ROUGE-1 F1 1/2, ROUGE-2 0, ROUGE-L 1/2. Means: 0.75, 0.5, 0.75.
    await writeFile(
      data,
      [
        { source: 'first record', summary: 'Go-upé' },
        { source: 'a long source '.repeat(20), summary: 'upé down' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const { code, out, err } = await cli(
      'eval',
      '--model',
      model,
      '--data',
      data,
      '--metric',
      'rouge',
      '--max-new-tokens',
      '16',
      '--backend',
      'reference',
      '--json',
    );
    expect([code, err]).toEqual([0, '']);
    const report = JSON.parse(out) as Record<string, number | string>;
    expect(report).toEqual({
      rouge1: expect.closeTo(0.75, 12),
      rouge2: expect.closeTo(0.5, 12),
      rougeL: expect.closeTo(0.75, 12),
      tokenization: 'words',
      n: 2,
    });
    const text = await cli('eval', '--model', model, '--data', data, '--metric', 'rouge', '--max-new-tokens', '16', '--backend', 'reference');
    const tooMany = await cli('eval', '--model', model, '--data', data, '--metric', 'rouge', '--backend', 'reference');
    expect([tooMany.code, tooMany.err]).toEqual([1, expect.stringContaining('[CONTEXT_EXCEEDED]')]);
    expect(text.out).toMatch(/^rouge1 0\.7500 {2}rouge2 0\.5000 {2}rougeL 0\.7500 {2}\(words, 2 pairs, reference\)/);
  });

  it('refuses {"text"} records for rouge', async () => {
    const data = join(dir, 'text.jsonl');
    await writeFile(data, '{"text":"hello"}\n');
    const { code, err } = await cli('eval', '--model', model, '--data', data, '--metric', 'rouge', '--backend', 'reference');
    expect([code, err]).toEqual([1, expect.stringMatching(/record 1.*\[DATA_INVALID\]/)]);
  });
});
