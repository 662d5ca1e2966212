import { LoraFuseError, checkRange, safeRelativePath, type ByteSource, type Folder } from '@lorafuse/core';

/** What the loaders read during one case. */
export interface ReadStats {
  /** Largest single read, in bytes. */
  maxRead: number;
  /** The size of the file that largest read came from. */
  maxReadFileSize: number;
  /** Reads asking for more bytes than their whole file holds (must stay 0). */
  overReads: number;
  /** Bytes read in total. */
  totalRead: number;
}

/**
 * A read-only folder over `files` whose sources record every read's length before serving it, so an over-read shows even
 * when the range check then refuses it.
 */
export function recordingFolder(files: ReadonlyMap<string, Uint8Array>, stats: ReadStats, name = '<fuzz>'): Folder {
  const wrap = (path: string, bytes: Uint8Array): ByteSource => ({
    name: `${name}/${path}`,
    size: bytes.byteLength,
    async read(offset, length) {
      stats.totalRead += length;
      if (length > stats.maxRead) [stats.maxRead, stats.maxReadFileSize] = [length, bytes.byteLength];
      if (length > bytes.byteLength) stats.overReads++;
      checkRange({ name: `${name}/${path}`, size: bytes.byteLength }, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  });
  return {
    name,
    async open(path) {
      const key = safeRelativePath(path, name);
      const bytes = files.get(key);
      if (!bytes) throw new LoraFuseError('FILE_NOT_FOUND', `${key} was not found in ${name}.`, { details: { path: key } });
      return wrap(key, bytes);
    },
    async exists(path) {
      return files.has(safeRelativePath(path, name));
    },
  };
}
