import { LoraFuseError, throwIfAborted } from '../errors/index.js';

/**
 * Random-access bytes: a file on disk, a `Blob`/`File`, or memory. Readers
 * ask for the ranges they need, so a multi-gigabyte checkpoint is never
 * copied whole.
 */
export interface ByteSource {
  /** A name for messages (a path, a file name). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`; throws `READ_OUT_OF_BOUNDS` past the end. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Throws `READ_OUT_OF_BOUNDS` unless `[offset, offset + length)` lies inside `source`. */
export function checkRange(source: Pick<ByteSource, 'name' | 'size'>, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new LoraFuseError('READ_OUT_OF_BOUNDS', `Cannot read ${length} bytes at offset ${offset} of ${source.name}: it holds ${source.size} bytes.`, {
      details: { name: source.name, offset, length, size: source.size },
    });
  }
}

/** A source over bytes already in memory (no copy on read). */
export function bytesSource(data: Uint8Array | ArrayBuffer, name = '<memory>'): ByteSource {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length, signal) {
      throwIfAborted(signal);
      checkRange({ name, size: bytes.byteLength }, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A source over a `Blob` or `File`; each read slices only the range asked for. */
export function blobSource(blob: Blob, name = (blob as File).name ?? '<blob>'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length, signal) {
      throwIfAborted(signal);
      checkRange({ name, size: blob.size }, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Reads a whole source into memory. */
export function readAll(source: ByteSource, signal?: AbortSignal): Promise<Uint8Array> {
  return source.read(0, source.size, signal);
}
