// HfTokenizer (through @huggingface/tokenizers) against the ids the Rust
// `tokenizers` library gives for the same tokenizer.json
// (tokenizer-fixture/make_tokenizer_fixture.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HfTokenizer, memoryFolder } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { asyncCodeOf, codeOf } from './error-code.js';

const FIXTURE = new URL('./tokenizer-fixture/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as { vocab_size: number; special: Record<string, number>; encode: Record<string, number[]> };

describe('HfTokenizer', () => {
  it('encodes like the Rust tokenizers library, decodes back, and reads the special tokens', async () => {
    const tok = await HfTokenizer.load(nodeFolder(FIXTURE));
    for (const [text, ids] of Object.entries(expected.encode)) {
      expect(tok.encode(text), text).toEqual(ids);
      expect(tok.decode(ids)).toBe(text);
    }
    expect(tok.vocabSize).toBe(expected.vocab_size);
    expect([tok.bos, tok.eos, tok.pad]).toEqual([expected.special['<s>'], expected.special['</s>'], expected.special['<pad>']]);
    expect(tok.decode([tok.bos!, ...expected.encode['cp copies files'], tok.eos!])).toBe('cp copies files');
  });

  it('falls back to eos for padding without a config, and refuses a file the library cannot read', async () => {
    const json = JSON.parse(readFileSync(`${FIXTURE}tokenizer.json`, 'utf8')) as Record<string, unknown>;
    const bare = new HfTokenizer(json);
    expect([bare.bos, bare.eos, bare.pad]).toEqual([undefined, undefined, 0]);
    expect(new HfTokenizer(json, { eos_token: { content: '</s>' } }).pad).toBe(expected.special['</s>']);
    expect(codeOf(() => new HfTokenizer({ model: { type: 'Nonsense' } }))).toBe('DATA_INVALID');
    expect(await asyncCodeOf(() => HfTokenizer.load(memoryFolder()))).toBe('FILE_NOT_FOUND');
  });
});
