// JSONL reading, prompt templating, summary-only targets, source truncation
// and padding, with expected ids written out by hand from the UTF-8 bytes.
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, DEFAULT_PROMPT_TEMPLATE, IGNORE_TARGET, bytesSource, encodeRecord, isLoraFuseError, makeBatch, readJsonl } from '@lorafuse/core';
import { asyncCodeOf, codeOf } from './error-code.js';

const tok = new ByteTokenizer();
const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
const source = (text: string) => bytesSource(new TextEncoder().encode(text), 'data.jsonl');

async function failure(text: string) {
  try {
    await readJsonl(source(text));
  } catch (e) {
    if (isLoraFuseError(e)) return { code: e.code, message: e.message };
  }
  return undefined;
}

describe('readJsonl', () => {
  it('reads pairs and text, skipping blank lines', async () => {
    const records = await readJsonl(source('{"source":"a b","summary":"c"}\n\n{"text":"plain"}\r\n{"source":"","summary":"x","id":7}\n'));
    expect(records).toEqual([
      { kind: 'pair', source: 'a b', summary: 'c' },
      { kind: 'text', text: 'plain' },
      { kind: 'pair', source: '', summary: 'x' },
    ]);
  });

  it('names the line of a bad record with DATA_INVALID', async () => {
    const good = '{"text":"ok"}\n';
    expect(await failure(`${good}\n{"source":"s"`)).toEqual({ code: 'DATA_INVALID', message: expect.stringContaining('line 3') });
    expect(await failure(`${good}{"source":"s"}`)).toEqual({ code: 'DATA_INVALID', message: expect.stringContaining('line 2: expected {"source"') });
    expect(await failure('[1]')).toEqual({ code: 'DATA_INVALID', message: expect.stringContaining('line 1: expected a JSON object') });
    expect(await failure(`${good}${good}{"text":3}`)).toEqual({ code: 'DATA_INVALID', message: expect.stringContaining('line 3') });
    expect(await failure('{"text":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}')).toEqual({
      code: 'DATA_INVALID',
      message: expect.stringContaining('nests'),
    });
    expect(await asyncCodeOf(() => readJsonl(bytesSource(Uint8Array.of(0x7b, 0xff, 0x7d))))).toBe('INVALID_UTF8');
  });
});

describe('encodeRecord', () => {
  it('puts targets on the summary tokens and the eos after them, with the default template', () => {
    expect(DEFAULT_PROMPT_TEMPLATE).toBe('{source}\nTL;DR: ');
    const { ids, targets } = encodeRecord({ kind: 'pair', source: 'ab', summary: 'xy' }, tok, { maxLength: 64 });
    const prompt = bytes('ab\nTL;DR: ');
    expect(ids).toEqual([...prompt, 0x78, 0x79, 257]);
    // Position i predicts ids[i + 1]: the last prompt position predicts 'x', then 'x' predicts 'y', 'y' the eos.
    expect(targets).toEqual([...prompt.slice(1).map(() => IGNORE_TARGET), 0x78, 0x79, 257, IGNORE_TARGET]);
  });

  it('uses a custom template, leaves eos out when asked, and predicts every token after the first for text', () => {
    const pair = encodeRecord({ kind: 'pair', source: 's', summary: 'z' }, tok, { maxLength: 64, template: 'Q: {source} A:', appendEos: false });
    expect(pair.ids).toEqual([...bytes('Q: s A:'), 0x7a]);
    expect(pair.targets.filter((t) => t !== IGNORE_TARGET)).toEqual([0x7a]);
    const text = encodeRecord({ kind: 'text', text: 'abcd' }, tok, { maxLength: 3 });
    expect(text).toEqual({ ids: [0x61, 0x62, 0x63], targets: [0x62, 0x63, IGNORE_TARGET] });
  });

  it('truncates the source, never the summary, to fit the context', () => {
    const template = '[{source}]';
    const { ids, targets } = encodeRecord({ kind: 'pair', source: 'abcdef', summary: 'XYZ' }, tok, { maxLength: 8, template });
    expect(ids).toEqual([...bytes('[ab]XYZ'), 257]);
    expect(targets.filter((t) => t !== IGNORE_TARGET)).toEqual([...bytes('XYZ'), 257]);
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 'a', summary: 'UVWXYZ' }, tok, { maxLength: 8, template }))).toBe('DATA_INVALID');
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 'a', summary: 'b' }, tok, { maxLength: 8, template: 'no slot' }))).toBe('INVALID_OPTION');
  });
});

describe('makeBatch', () => {
  it('pads ids with the pad id and targets with −100, and counts the targets', () => {
    const batch = makeBatch(
      [
        { ids: [1, 2, 3], targets: [-100, 3, -100] },
        { ids: [4], targets: [-100] },
        { ids: [5, 6], targets: [6, -100] },
      ],
      9,
    );
    expect(batch.ids.shape).toEqual([3, 3]);
    expect(Array.from(batch.ids.data)).toEqual([1, 2, 3, 4, 9, 9, 5, 6, 9]);
    expect(Array.from(batch.targets.data)).toEqual([-100, 3, -100, -100, -100, -100, 6, -100, -100]);
    expect(batch.tokens).toBe(2);
    expect(codeOf(() => makeBatch([], 0))).toBe('INVALID_OPTION');
  });
});
