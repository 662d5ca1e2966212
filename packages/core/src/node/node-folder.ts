import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileNotFound, safeRelativePath, type WritableFolder } from '../io/folder.js';
import { isLoraFuseError } from '../errors/index.js';
import { writeFileAtomic } from './atomic-write.js';
import { fileSource } from './file-source.js';

/** A {@link WritableFolder} over a directory on disk; writes are atomic. */
export function nodeFolder(dir: string): WritableFolder {
  const root = resolve(dir);
  const at = (path: string) => join(root, safeRelativePath(path, root));
  return {
    name: dir,
    async open(path) {
      try {
        return await fileSource(at(path));
      } catch (cause) {
        if (isLoraFuseError(cause, 'FILE_NOT_FOUND')) throw fileNotFound(path, dir);
        throw cause;
      }
    },
    async exists(path) {
      try {
        return (await stat(at(path))).isFile();
      } catch {
        return false;
      }
    },
    write(path, chunks) {
      return writeFileAtomic(at(path), chunks);
    },
  };
}
