import { LoraFuseError } from '../errors/index.js';
import { blobSource, bytesSource, readAll, type ByteSource } from './source.js';

/**
 * A folder of files, read by relative path: a directory on disk (see
 * `@lorafuse/core/node`), a browser `FileSystemDirectoryHandle`, a list of
 * picked `File`s, or memory.
 */
export interface Folder {
  /** A name for messages. */
  readonly name: string;
  /** Opens a file for random-access reads; throws `FILE_NOT_FOUND`. */
  open(path: string): Promise<ByteSource>;
  /** True when the file exists. */
  exists(path: string): Promise<boolean>;
}

/** A folder that can also be written. Each write replaces the file atomically. */
export interface WritableFolder extends Folder {
  /** Writes `chunks` (concatenated) to `path`; on failure the old file is untouched. */
  write(path: string, chunks: readonly Uint8Array[]): Promise<void>;
}

/**
 * Normalises a relative path inside a folder, throwing `PATH_ESCAPE` for
 * absolute paths and `..` segments: names taken from files (shard lists,
 * configs) must never reach outside the folder they came with.
 */
export function safeRelativePath(path: string, folder: string): string {
  const parts = path.replace(/\\/g, '/').split('/');
  const escapes = path.startsWith('/') || /^[a-zA-Z]:/.test(path) || parts.includes('..') || path.includes('\0');
  const clean = parts.filter((p) => p !== '' && p !== '.');
  if (escapes || clean.length === 0) {
    throw new LoraFuseError('PATH_ESCAPE', `Path "${path}" is not a plain relative path inside ${folder}.`, { details: { path, folder } });
  }
  return clean.join('/');
}

/** Reads a whole file of a folder. */
export async function readFile(folder: Folder, path: string, signal?: AbortSignal): Promise<Uint8Array> {
  return readAll(await folder.open(path), signal);
}

export function fileNotFound(path: string, folder: string): LoraFuseError {
  return new LoraFuseError('FILE_NOT_FOUND', `${path} was not found in ${folder}.`, { details: { path, folder } });
}

/** A writable folder held in memory (tests, browsers without OPFS). */
export function memoryFolder(
  files: Record<string, Uint8Array> | Map<string, Uint8Array> = new Map(),
  name = '<memory>',
): WritableFolder & { readonly files: Map<string, Uint8Array> } {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    name,
    files: map,
    async open(path) {
      const key = safeRelativePath(path, name);
      const bytes = map.get(key);
      if (!bytes) throw fileNotFound(key, name);
      return bytesSource(bytes, `${name}/${key}`);
    },
    async exists(path) {
      return map.has(safeRelativePath(path, name));
    },
    async write(path, chunks) {
      map.set(safeRelativePath(path, name), concatBytes(chunks));
    },
  };
}

/** A read-only folder over picked `File`s, keyed by `webkitRelativePath` minus its first segment, or by name. */
export function filesFolder(files: Iterable<File>, name = '<files>'): Folder {
  const map = new Map<string, File>();
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath;
    map.set(rel ? rel.split('/').slice(1).join('/') : f.name, f);
  }
  return {
    name,
    async open(path) {
      const key = safeRelativePath(path, name);
      const file = map.get(key);
      if (!file) throw fileNotFound(key, name);
      return blobSource(file, `${name}/${key}`);
    },
    async exists(path) {
      return map.has(safeRelativePath(path, name));
    },
  };
}

/** A writable folder over a browser `FileSystemDirectoryHandle` (OPFS or a picked directory). */
export function directoryHandleFolder(root: FileSystemDirectoryHandle, name = root.name): WritableFolder {
  async function locate(path: string, create: boolean): Promise<{ dir: FileSystemDirectoryHandle; file: string }> {
    const parts = safeRelativePath(path, name).split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create });
    return { dir, file: parts[parts.length - 1] };
  }
  async function handle(path: string): Promise<FileSystemFileHandle | undefined> {
    try {
      const { dir, file } = await locate(path, false);
      return await dir.getFileHandle(file);
    } catch (cause) {
      if ((cause as DOMException)?.name === 'NotFoundError' || (cause as DOMException)?.name === 'TypeMismatchError') return undefined;
      throw new LoraFuseError('FILE_READ_FAILED', `Could not open ${path} in ${name}: ${(cause as Error).message}`, { cause });
    }
  }
  return {
    name,
    async open(path) {
      const h = await handle(path);
      if (!h) throw fileNotFound(path, name);
      return blobSource(await h.getFile(), `${name}/${path}`);
    },
    async exists(path) {
      return (await handle(path)) !== undefined;
    },
    async write(path, chunks) {
      try {
        const { dir, file } = await locate(path, true);
        // createWritable writes to a swap file and replaces the target on close: atomic.
        const writable = await (await dir.getFileHandle(file, { create: true })).createWritable();
        try {
          for (const c of chunks) await writable.write(c as Uint8Array<ArrayBuffer>);
          await writable.close();
        } catch (cause) {
          await writable.abort();
          throw cause;
        }
      } catch (cause) {
        throw new LoraFuseError('FILE_WRITE_FAILED', `Could not write ${path} in ${name}: ${(cause as Error).message}`, { cause });
      }
    },
  };
}

/** Concatenates byte chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0].slice();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
