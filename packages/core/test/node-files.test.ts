import { mkdtemp, readdir, readFile as fsReadFile, writeFile, chmod, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from '@lorafuse/core';
import { fileSource, nodeFolder, writeFileAtomic } from '@lorafuse/core/node';
import { asyncCodeOf as codeOf } from './error-code.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-node-'));
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(dir, { recursive: true, force: true });
});
describe('Node file access', () => {
  it('reads exact ranges of a file', async () => {
    const path = join(dir, 'data.bin');
    await writeFile(
      path,
      Uint8Array.from({ length: 300 }, (_, i) => i % 256),
    );
    const source = await fileSource(path);
    expect(source.size).toBe(300);
    expect([...(await source.read(255, 3))]).toEqual([255, 0, 1]);
    expect(await codeOf(() => source.read(299, 2))).toBe('READ_OUT_OF_BOUNDS');
  });

  it('reports missing files and directories with codes', async () => {
    expect(await codeOf(() => fileSource(join(dir, 'nope')))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(() => fileSource(dir))).toBe('FILE_READ_FAILED');
    expect(await codeOf(() => nodeFolder(dir).open('nope'))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(() => nodeFolder(dir).open('../etc/passwd'))).toBe('PATH_ESCAPE');
  });

  it('writes atomically and leaves no temporary files', async () => {
    const folder = nodeFolder(join(dir, 'out'));
    await folder.write('a/b.txt', [new TextEncoder().encode('one')]);
    await folder.write('a/b.txt', [new TextEncoder().encode('two'), new TextEncoder().encode('!')]);
    expect(new TextDecoder().decode(await readFile(folder, 'a/b.txt'))).toBe('two!');
    expect(await readdir(join(dir, 'out', 'a'))).toEqual(['b.txt']);
  });

  it('removes the temporaries a killed writer left more than ten minutes ago, and only those', async () => {
    const out = join(dir, 'stray');
    await writeFileAtomic(join(out, 'ckpt.bin'), [new Uint8Array([1])]);
    const stale = '.ckpt.bin.0123456789ab.tmp';
    const fresh = '.ckpt.bin.ba9876543210.tmp';
    const others = ['.ckpt.bin.notours.tmp', '.other.bin.0123456789ab.tmp'];
    for (const name of [stale, fresh, ...others]) await writeFile(join(out, name), 'partial');
    const eleven = (Date.now() - 11 * 60 * 1000) / 1000;
    for (const name of [stale, ...others]) await utimes(join(out, name), eleven, eleven);
    await writeFileAtomic(join(out, 'ckpt.bin'), [new Uint8Array([2])]);
    expect((await readdir(out)).sort()).toEqual([fresh, ...others, 'ckpt.bin'].sort());
    expect([...(await fsReadFile(join(out, 'ckpt.bin')))]).toEqual([2]);
  });

  it('keeps the old file when a write fails', async () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions; fail the write by making the target a directory instead.
      const target = join(dir, 'is-a-dir');
      await writeFileAtomic(join(target, 'x'), [new Uint8Array([1])]);
      expect(await codeOf(() => writeFileAtomic(target, [new Uint8Array([2])]))).toBe('FILE_WRITE_FAILED');
      expect(await readdir(target)).toEqual(['x']);
      expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
      return;
    }
    const locked = join(dir, 'locked');
    await writeFileAtomic(join(locked, 'f'), [new Uint8Array([1])]);
    await chmod(locked, 0o500);
    expect(await codeOf(() => writeFileAtomic(join(locked, 'f'), [new Uint8Array([2])]))).toBe('FILE_WRITE_FAILED');
    expect([...(await fsReadFile(join(locked, 'f')))]).toEqual([1]);
    await chmod(locked, 0o700);
  });
});
