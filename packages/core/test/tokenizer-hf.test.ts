// HfTokenizer (through @huggingface/tokenizers) against the ids the Rust
// `tokenizers` library gives for the same tokenizer.json
// (tokenizer-fixture/make_tokenizer_fixture.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HfTokenizer, memoryFolder } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { asyncCodeOf, codeOf } from './error-code.js';

const FIXTURE = new URL('./tokenizer-fixture/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as {
  vocab_size: number;
  special: Record<string, number>;
  encode: Record<string, number[]>;
};

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
    expect(codeOf(() => new HfTokenizer({ model: { type: 'Nonsense' } }))).toBe('TOKENIZER_INVALID');
    expect(await asyncCodeOf(() => HfTokenizer.load(memoryFolder()))).toBe('FILE_NOT_FOUND');
  });

  it('checks the regular expressions of split and replace rules before the library compiles them', () => {
    const json = JSON.parse(readFileSync(`${FIXTURE}tokenizer.json`, 'utf8')) as Record<string, unknown>;
    // Llama 3's split pattern: eight variable quantifiers, at most two per alternative.
    const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const withSplit = (pattern: string) => ({
      ...json,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }, json.pre_tokenizer],
      },
    });
    const accepted = new HfTokenizer(withSplit(llama3));
    expect(accepted.decode(accepted.encode('cp copies files'))).toBe('cp copies files');
    for (const hostile of ['(a+)+$', '(\\w|\\d)*z', '.*.*.*.*x', 'x'.repeat(5000)]) {
      expect(
        codeOf(() => new HfTokenizer(withSplit(hostile))),
        hostile.slice(0, 20),
      ).toBe('TOKENIZER_INVALID');
      // Refused by the guard, from its text, before the library compiles it.
      expect(() => new HfTokenizer(withSplit(hostile))).toThrow(/which is refused/);
    }
    // Limits are the caller's to raise for a file they trust.
    expect(new HfTokenizer(withSplit('.*.*.*.*x'), {}, 'trusted', { maxPatternLength: 100, maxQuantifiers: 4, quantifierScope: 'alternative' }).vocabSize).toBe(
      accepted.vocabSize,
    );
  });

  it.each([
    ['an array', []],
    ['no model', { version: '1.0' }],
    ['an empty vocabulary', { model: { type: 'WordLevel', vocab: {}, unk_token: '[UNK]' } }],
  ])('refuses %s with TOKENIZER_INVALID', (_why, json) => {
    expect(codeOf(() => new HfTokenizer(json as Record<string, unknown>))).toBe('TOKENIZER_INVALID');
  });
});
