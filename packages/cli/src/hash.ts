import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LoraFuseError } from '@lorafuse/core';

/** Lower-case hex SHA-256 of a file, read as a stream (any size: a file is never held in memory whole). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new LoraFuseError('FILE_READ_FAILED', `Could not read ${path} to hash it: ${(cause as Error).message}`, { cause, details: { path } });
  }
  return hash.digest('hex');
}

/** The regular files at the top of a folder, sorted by name; a file itself for a file. */
export async function topLevelFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  return (await readdir(path, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(path, e.name))
    .sort();
}
