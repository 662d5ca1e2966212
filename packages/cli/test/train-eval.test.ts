// `lorafuse eval` and `lorafuse train` end to end on a one-layer byte-level
// Llama written here. With a zero lm_head every logit is 0, so the loss of
// every counted token is exactly ln(259): an independent check of the loss
// and of which tokens count (summary bytes of pairs, all but the first of text).
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, loadAdapter, writeSafetensors } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-train-'));
const VOCAB = 259;

const u = lcg(7);
const rand = () => u() * 2 - 1;
const weight = (shape: number[], scale = 0.3) =>
  Tensor.f32(
    shape,
    Float32Array.from({ length: shape[0] * (shape[1] ?? 1) }, () => rand() * scale),
  );

async function writeModel(name: string, zeroHead: boolean, vocab = VOCAB): Promise<string> {
  const config = JSON.parse(await readFile(join(FIXTURES, 'llama-tiny/config.json'), 'utf8')) as Record<string, unknown>;
  Object.assign(config, { vocab_size: vocab, num_hidden_layers: 1, bos_token_id: 256, eos_token_id: 257 });
  const folder = join(dir, name);
  const p = 'model.layers.0.';
  const tensors: Record<string, Tensor> = {
    'model.embed_tokens.weight': weight([vocab, 32], 1),
    [`${p}self_attn.q_proj.weight`]: weight([32, 32]),
    [`${p}self_attn.k_proj.weight`]: weight([16, 32]),
    [`${p}self_attn.v_proj.weight`]: weight([16, 32]),
    [`${p}self_attn.o_proj.weight`]: weight([32, 32]),
    [`${p}mlp.gate_proj.weight`]: weight([48, 32]),
    [`${p}mlp.up_proj.weight`]: weight([48, 32]),
    [`${p}mlp.down_proj.weight`]: weight([32, 48]),
    [`${p}input_layernorm.weight`]: Tensor.f32([32], new Float32Array(32).fill(1)),
    [`${p}post_attention_layernorm.weight`]: Tensor.f32([32], new Float32Array(32).fill(1)),
    'model.norm.weight': Tensor.f32([32], new Float32Array(32).fill(1)),
    'lm_head.weight': zeroHead ? new Tensor('f32', [vocab, 32]) : weight([vocab, 32], 1),
  };
  await writeSafetensors(nodeFolder(folder), 'model.safetensors', tensors);
  await writeFile(join(folder, 'config.json'), JSON.stringify(config));
  return folder;
}

const zeroHead = await writeModel('zero-head', true);
const model = await writeModel('model', false);
const data = join(dir, 'data.jsonl');
const pairs = [
  { source: 'ls lists directory contents', summary: 'list files' },
  { source: 'cp copies files and directories', summary: 'copy files' },
  { source: 'rm removes files', summary: 'remove files' },
];
await writeFile(data, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n' + JSON.stringify({ text: 'hello' }) + '\n');

describe('lorafuse eval', () => {
  it('reports ln(259) per counted token for a zero lm_head, counting summary bytes with their eos and text after its first byte', async () => {
    const { code, out, err } = await cli('eval', '--model', zeroHead, '--data', data, '--backend', 'reference', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out) as { loss: number; perplexity: number; tokens: number };
    const summaryBytes = pairs.reduce((n, p) => n + new TextEncoder().encode(p.summary).length, 0);
    expect(report.tokens).toBe(summaryBytes + pairs.length + 'hello'.length - 1);
    const noEos = JSON.parse((await cli('eval', '--model', zeroHead, '--data', data, '--backend', 'reference', '--json', '--no-eos')).out) as {
      tokens: number;
    };
    expect(noEos.tokens).toBe(summaryBytes + 'hello'.length - 1);
    expect(Math.abs(report.loss - Math.log(VOCAB))).toBeLessThan(1e-5);
    expect(report.perplexity).toBeCloseTo(VOCAB, 2);
  });

  it("uses the folder's tokenizer.json: ln(vocab) per summary token as the Rust tokenizers library counts them", async () => {
    const fixture = join(FIXTURES, '../tokenizer-fixture');
    const expected = JSON.parse(await readFile(join(fixture, 'expected.json'), 'utf8')) as { vocab_size: number; encode: Record<string, number[]> };
    const folder = await writeModel('hf', true, expected.vocab_size);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(fixture, f), join(folder, f));
    const file = join(dir, 'hf.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ source: 'ls lists', summary: 'cp copies files' })}\n${JSON.stringify({ text: 'list the files in a directory' })}\n`,
    );
    const { code, out } = await cli('eval', '--model', folder, '--data', file, '--backend', 'reference', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as { loss: number; tokens: number };
    // The summary and the eos after it; the text's tokens after the first (this tokenizer adds no special tokens).
    expect(report.tokens).toBe(expected.encode['cp copies files'].length + 1 + expected.encode['list the files in a directory'].length - 1);
    expect(Math.abs(report.loss - Math.log(expected.vocab_size))).toBeLessThan(1e-5);
  });

  it('refuses bad input with typed errors and exit codes', async () => {
    expect((await cli('eval', '--data', data)).code).toBe(2);
    expect((await cli('eval', '--model', zeroHead, '--data', data, '--metric', 'bleu')).code).toBe(2);
    const small = await cli('eval', '--model', join(FIXTURES, 'llama-tiny'), '--data', data, '--backend', 'reference');
    expect([small.code, small.err]).toEqual([1, expect.stringContaining('[MODEL_UNSUPPORTED]')]);
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"text":"ok"}\n{"source":1}\n');
    const invalid = await cli('eval', '--model', zeroHead, '--data', bad, '--backend', 'reference');
    expect([invalid.code, invalid.err]).toEqual([1, expect.stringMatching(/line 2.*\[DATA_INVALID\]/)]);
  });
});

describe('lorafuse train', () => {
  it('trains a PEFT adapter that lowers the loss on its data', async () => {
    const out = join(dir, 'adapter');
    const run = await cli(
      'train',
      '--model',
      model,
      '--train',
      data,
      '--val',
      data,
      '--out',
      out,
      '--rank',
      '4',
      '--targets',
      'q_proj,v_proj,down_proj',
      '--epochs',
      '3',
      '--lr',
      '1e-2',
      '--batch-size',
      '2',
      '--backend',
      'reference',
      '--json',
    );
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const events = run.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; loss?: number });
    expect(events.map((e) => e.type)).toEqual(['step', 'step', 'eval', 'step', 'step', 'eval', 'step', 'step', 'eval', 'done']);
    const adapter = await loadAdapter(nodeFolder(out));
    expect(adapter.config.r).toBe(4);
    expect(adapter.modules.map((m) => m.name)).toEqual(
      ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.mlp.down_proj'].sort(),
    );
    const loss = async (...extra: string[]) =>
      (JSON.parse((await cli('eval', '--model', model, '--data', data, '--backend', 'reference', '--json', ...extra)).out) as { loss: number }).loss;
    const before = await loss();
    const after = await loss('--adapter', out);
    expect(after).toBeLessThan(before - 0.1);
    expect(Math.abs(after - events.at(-2)!.loss!)).toBeLessThan(1e-5);
  });

  it('resumes from --checkpoint to the adapter of an uninterrupted run, bit for bit', async () => {
    const common = ['--model', model, '--train', data, '--rank', '2', '--lr', '1e-2', '--batch-size', '2', '--seed', '3', '--backend', 'reference', '--quiet'];
    const whole = join(dir, 'whole');
    expect((await cli('train', ...common, '--epochs', '3', '--out', whole)).code).toBe(0);
    const state = join(dir, 'state');
    expect((await cli('train', ...common, '--epochs', '1', '--checkpoint', state, '--out', join(dir, 'first'))).code).toBe(0);
    const resumed = join(dir, 'resumed');
    expect((await cli('train', ...common, '--epochs', '3', '--checkpoint', state, '--resume', '--out', resumed)).code).toBe(0);
    const [a, b] = await Promise.all([loadAdapter(nodeFolder(whole)), loadAdapter(nodeFolder(resumed))]);
    for (const [i, m] of a.modules.entries()) {
      expect(b.modules[i].a.data).toEqual(m.a.data);
      expect(b.modules[i].b.data).toEqual(m.b.data);
    }
    const first = await loadAdapter(nodeFolder(join(dir, 'first')));
    expect(first.modules[0].b.data).not.toEqual(a.modules[0].b.data);
    expect((await cli('train', ...common, '--resume', '--out', resumed)).code).toBe(2);
  });
});
