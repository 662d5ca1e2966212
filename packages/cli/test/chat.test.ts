// The prompt and decoding flags end to end on a small random Llama that
// carries the Qwen 2.5 kind of fixture tokenizer (tokenizer.json,
// tokenizer_config.json with its chat template, generation_config.json):
// --chat/--system on train, eval and generate, the EOS that pairs end with
// by default and --no-eos, generation_config.json's eos ids and sampling
// defaults, and the usage errors. The encodings themselves are checked
// against transformers in packages/core/test/tokenizer-kinds.test.ts.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, HfTokenizer, IGNORE_TARGET, encodeRecord, loadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lorafuse-chat-'));
const model = await writeByteModel(join(dir, 'model'), 5, undefined, 600);
for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
  copyFileSync(join(FIXTURES, 'tokenizers/qwen2.5', file), join(model, file));
const pairs = [
  { source: 'ls lists files', summary: 'list files' },
  { source: 'cp copies files', summary: 'copy files' },
];
const data = join(dir, 'pairs.jsonl');
writeFileSync(data, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
const common = ['--model', model, '--backend', 'reference', '--json'];

/** The tokens the loss counts over the pairs, as core encodes them. */
async function countedTokens(options: { chat: boolean; appendEos?: boolean }): Promise<number> {
  const folder = nodeFolder(model);
  const tokenizer = await HfTokenizer.load(folder);
  const chat = options.chat ? { template: await ChatTemplate.load(folder), system: 'Be brief.' } : undefined;
  return pairs
    .map((p) => encodeRecord({ kind: 'pair', ...p }, tokenizer, { maxLength: 128, chat, appendEos: options.appendEos }))
    .reduce((n, e) => n + e.targets.filter((t) => t !== IGNORE_TARGET).length, 0);
}

describe('--chat, --system and --no-eos', () => {
  it('count the reply and the end of its turn in the loss, or the summary alone with --no-eos', async () => {
    const loss = async (...flags: string[]) => {
      const r = await cli('eval', ...common, '--data', data, ...flags);
      expect(r.err).toBe('');
      return (JSON.parse(r.out) as { tokens: number }).tokens;
    };
    const chat = await loss('--chat', '--system', 'Be brief.');
    expect(chat).toBe(await countedTokens({ chat: true }));
    expect(await loss('--chat', '--system', 'Be brief.', '--no-eos')).toBe(chat - pairs.length);
    expect(await loss()).toBe(await countedTokens({ chat: false }));
    expect(await loss('--no-eos')).toBe((await countedTokens({ chat: false })) - pairs.length);
  });

  it('train an adapter on chat pairs', async () => {
    const out = join(dir, 'adapter');
    const r = await cli('train', ...common, '--train', data, '--out', out, '--chat', '--system', 'Be brief.', '--rank', '2');
    expect(r.code).toBe(0);
    expect((await loadAdapter(nodeFolder(out))).modules.length).toBeGreaterThan(0);
  });

  it('refuse flags that do not go together', async () => {
    const noTemplate = await writeByteModel(join(dir, 'plain'));
    expect((await cli('eval', ...common, '--data', data, '--chat', '--template', '{source}')).code).toBe(2);
    expect((await cli('eval', ...common, '--data', data, '--system', 'x')).code).toBe(2);
    expect((await cli('generate', ...common, '--source', 'x', '--greedy', '--top-k', '3')).code).toBe(2);
    const missing = await cli('generate', '--model', noTemplate, '--backend', 'reference', '--source', 'x', '--chat');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/CHAT_TEMPLATE_INVALID/);
  });
});

describe('generate with generation_config.json', () => {
  const generate = async (...flags: string[]) => {
    const r = await cli('generate', ...common, '--chat', '--source', 'ls lists files', '--max-new-tokens', '12', ...flags);
    expect(r.err).toBe('');
    return JSON.parse(r.out) as { text: string; tokens: number[]; finish_reason: string };
  };

  it("samples with the file's temperature, top_k and top_p unless told otherwise", async () => {
    // The Qwen 2.5 fixture's generation_config.json: do_sample, temperature 0.7, top_p 0.8, top_k 20.
    const byDefault = await generate('--seed', '3');
    expect(await generate('--seed', '3', '--temperature', '0.7', '--top-k', '20', '--top-p', '0.8')).toEqual(byDefault);
    expect(await generate('--seed', '3', '--temperature', '0.7')).toEqual(byDefault);
    // Without the file's top_k and top_p the same seed draws other tokens: the equalities above are not vacuous.
    expect(await generate('--seed', '3', '--temperature', '0.7', '--top-k', '0', '--top-p', '1')).not.toEqual(byDefault);
    const greedy = await generate('--greedy');
    expect(await generate('--greedy', '--seed', '3')).toEqual(greedy);
  });

  it('stops at every eos_token_id of the file', async () => {
    const greedy = await generate('--greedy');
    expect(greedy.finish_reason).toBe('length');
    // The same model with the first greedy token listed second among the file's eos ids (the tokenizer's eos is another).
    const other = await writeByteModel(join(dir, 'stops'), 5, undefined, 600);
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(model, file), join(other, file));
    const [first] = greedy.tokens;
    const tokenizer = await HfTokenizer.load(nodeFolder(model));
    expect(first).not.toBe(tokenizer.eos);
    writeFileSync(join(other, 'generation_config.json'), JSON.stringify({ eos_token_id: [tokenizer.eos, first] }));
    const r = await cli('generate', '--model', other, '--backend', 'reference', '--json', '--chat', '--source', 'ls lists files', '--max-new-tokens', '12');
    expect(JSON.parse(r.out)).toEqual({ text: tokenizer.decode([first]), tokens: [first], finish_reason: 'stop' });
  });
});
