// The built-in byte-level tokenizer: ids are the UTF-8 bytes, written out by hand here.
import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '@lorafuse/core';
import { codeOf } from './error-code.js';

describe('ByteTokenizer', () => {
  const tok = new ByteTokenizer();

  it('encodes to the UTF-8 bytes and reserves three special ids after them', () => {
    expect(tok.encode('Aé日')).toEqual([0x41, 0xc3, 0xa9, 0xe6, 0x97, 0xa5]);
    expect(tok.encode('')).toEqual([]);
    expect([tok.bos, tok.eos, tok.pad, tok.vocabSize]).toEqual([256, 257, 258, 259]);
  });

  it('round-trips any text and drops special ids when decoding', () => {
    const text = 'man ls — 日本語のテキスト 🙂\n\ttabs';
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode([tok.bos, 0x68, 0x69, tok.eos, tok.pad])).toBe('hi');
  });

  it('decodes a cut multi-byte character to U+FFFD and refuses ids outside the vocabulary', () => {
    expect(tok.decode([0x61, 0xe6, 0x97])).toBe('a\ufffd');
    expect(codeOf(() => tok.decode([259]))).toBe('INVALID_OPTION');
    expect(codeOf(() => tok.decode([-1]))).toBe('INVALID_OPTION');
  });
});
