import { describe, expect, it } from 'vitest';
import { blobSource, bytesSource, isLoraFuseError, LoraFuseError, memoryFolder, parseJsonBytes, readFile, safeRelativePath } from '@lorafuse/core';
import { asyncCodeOf as codeOf } from './error-code.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('byte sources', () => {
  it('read ranges and refuse reads past the end', async () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    for (const source of [bytesSource(data), blobSource(new Blob([data]))]) {
      expect([...(await source.read(3, 4))]).toEqual([3, 4, 5, 6]);
      expect((await source.read(10, 0)).length).toBe(0);
      expect(await codeOf(() => source.read(8, 3))).toBe('READ_OUT_OF_BOUNDS');
      expect(await codeOf(() => source.read(-1, 1))).toBe('READ_OUT_OF_BOUNDS');
      expect(await codeOf(() => source.read(0.5, 1))).toBe('READ_OUT_OF_BOUNDS');
    }
  });

  it('stop on an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(() => bytesSource(new Uint8Array(4)).read(0, 1, controller.signal))).toBe('ABORTED');
  });
});

describe('untrusted JSON', () => {
  it('parses valid JSON', () => {
    expect(parseJsonBytes(utf8('{"a": [1, {"b": "}"}]}'), 'x')).toEqual({ a: [1, { b: '}' }] });
  });

  it.each([
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'INVALID_UTF8'],
    ['truncated JSON', utf8('{"a": 1'), 'INVALID_JSON'],
    ['trailing garbage', utf8('{} x'), 'INVALID_JSON'],
    ['deep nesting', utf8('['.repeat(100_000) + ']'.repeat(100_000)), 'JSON_LIMIT_EXCEEDED'],
  ])('rejects %s with its code', async (_what, bytes, code) => {
    expect(await codeOf(() => parseJsonBytes(bytes, 'test.json'))).toBe(code);
  });

  it('applies the byte and depth limits it is given', async () => {
    expect(await codeOf(() => parseJsonBytes(utf8('[[1]]'), 'x', { maxDepth: 1 }))).toBe('JSON_LIMIT_EXCEEDED');
    expect(parseJsonBytes(utf8('[[1]]'), 'x', { maxDepth: 2 })).toEqual([[1]]);
    expect(await codeOf(() => parseJsonBytes(utf8('"abcdef"'), 'x', { maxBytes: 4 }))).toBe('JSON_LIMIT_EXCEEDED');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(parseJsonBytes(utf8(`{"k": "\\"[[[[[["}`), 'x', { maxDepth: 1 })).toEqual({ k: '"[[[[[[' });
  });
});

describe('folders', () => {
  it.each(['../x', 'a/../../x', '/etc/passwd', 'C:/x', '', '.', 'a\0b'])('refuse the escaping path %j', async (path) => {
    expect(await codeOf(() => safeRelativePath(path, 'root'))).toBe('PATH_ESCAPE');
  });

  it('normalise harmless paths', () => {
    expect(safeRelativePath('./a//b/./c', 'root')).toBe('a/b/c');
    expect(safeRelativePath('a\\b', 'root')).toBe('a/b');
  });

  it('read and write in memory', async () => {
    const folder = memoryFolder();
    await folder.write('sub/f.bin', [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...(await readFile(folder, './sub/f.bin'))]).toEqual([1, 2, 3]);
    expect(await folder.exists('sub/g.bin')).toBe(false);
    expect(await codeOf(() => folder.open('g.bin'))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(() => folder.write('../g.bin', []))).toBe('PATH_ESCAPE');
  });
});

describe('errors', () => {
  it('are recognised by their brand, not their class identity', () => {
    const e = new LoraFuseError('INVALID_OPTION', 'bad', { details: { option: 'x' } });
    expect(isLoraFuseError(e, 'INVALID_OPTION')).toBe(true);
    expect(isLoraFuseError(e, 'ABORTED')).toBe(false);
    // An error object from another copy of the package shares the global brand symbol.
    const foreign = Object.assign(Object.create({ [Symbol.for('lorafuse.error')]: true }), { code: 'ABORTED' });
    expect(isLoraFuseError(foreign, 'ABORTED')).toBe(true);
    expect(isLoraFuseError(new Error('x'))).toBe(false);
    expect(e.details).toEqual({ option: 'x' });
    expect(Object.isFrozen(e.details)).toBe(true);
  });
});
