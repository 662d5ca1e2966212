// Input hashes are taken by streaming: a file past 2 GiB (which readFile
// refuses) hashes to the SHA-256 of its bytes. The file is sparse, all
// zeros, so the reference hashes zeros made in memory, never read from disk.
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sha256File } from '../src/hash.js';

const dir = mkdtempSync(join(tmpdir(), 'lorafuse-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('hashes a file larger than 2 GiB as the SHA-256 of its bytes', async () => {
  const size = 2 ** 31 + 3;
  const path = join(dir, 'zeros.bin');
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  const reference = createHash('sha256');
  const chunk = Buffer.alloc(1 << 26);
  for (let left = size; left > 0; left -= chunk.length) reference.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  expect(await sha256File(path)).toBe(reference.digest('hex'));
}, 300_000);
