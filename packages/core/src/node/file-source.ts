import { type FileHandle, open, stat } from 'node:fs/promises';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { checkRange, type ByteSource } from '../io/source.js';

/** Maps a Node fs error to a typed error. */
export function fsError(cause: unknown, path: string, writing = false): LoraFuseError {
  const code = (cause as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' && !writing) return new LoraFuseError('FILE_NOT_FOUND', `${path} does not exist.`, { cause, details: { path } });
  const verb = writing ? 'write' : 'read';
  return new LoraFuseError(writing ? 'FILE_WRITE_FAILED' : 'FILE_READ_FAILED', `Could not ${verb} ${path}: ${(cause as Error)?.message ?? cause}`, {
    cause,
    details: { path, errno: code },
  });
}

/**
 * A {@link ByteSource} over a file on disk. Each read opens the file,
 * reads exactly the range asked for and closes it, so no descriptor leaks
 * when a caller abandons the source.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new LoraFuseError('FILE_READ_FAILED', `${path} is not a regular file.`, { details: { path } });
    size = info.size;
  } catch (cause) {
    throw cause instanceof LoraFuseError ? cause : fsError(cause, path);
  }
  const source: ByteSource = {
    name: path,
    size,
    async read(offset, length, signal) {
      throwIfAborted(signal);
      checkRange(source, offset, length);
      const out = new Uint8Array(length);
      let handle: FileHandle | undefined;
      try {
        handle = await open(path, 'r');
        let done = 0;
        while (done < length) {
          throwIfAborted(signal);
          const { bytesRead } = await handle.read(out, done, Math.min(length - done, 1 << 30), offset + done);
          if (bytesRead === 0) {
            throw new LoraFuseError(
              'READ_OUT_OF_BOUNDS',
              `${path} ended after ${offset + done} bytes while reading ${length} at ${offset}; it changed while being read.`,
              {
                details: { path, offset, length },
              },
            );
          }
          done += bytesRead;
        }
      } catch (cause) {
        throw cause instanceof LoraFuseError ? cause : fsError(cause, path);
      } finally {
        await handle?.close();
      }
      return out;
    },
  };
  return source;
}
