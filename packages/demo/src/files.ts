import { readFile, type ProvenanceFile, type WritableFolder } from '@lorafuse/core';

const encoder = new TextEncoder();

/** JSON Lines bytes, one object per line. */
export function jsonlBytes(records: readonly object[]): Uint8Array {
  return encoder.encode(records.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Pretty JSON bytes with a final newline. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, null, 2) + '\n');
}

/** The folder `prefix/` inside `folder`: reads and writes go to `prefix/<path>`. */
export function subfolder(folder: WritableFolder, prefix: string): WritableFolder {
  const at = (path: string) => `${prefix}/${path}`;
  return {
    name: `${folder.name}/${prefix}`,
    open: (path) => folder.open(at(path)),
    exists: (path) => folder.exists(at(path)),
    write: (path, chunks) => folder.write(at(path), chunks),
  };
}

/** Lower-case hex SHA-256 (Web Crypto: the same in Node and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Provenance entries of files already written to `folder`, hashed as read back. */
export async function hashFiles(folder: WritableFolder, role: ProvenanceFile['role'], paths: readonly string[]): Promise<ProvenanceFile[]> {
  const files: ProvenanceFile[] = [];
  for (const path of paths) files.push({ role, path, sha256: await sha256Hex(await readFile(folder, path)) });
  return files;
}
