import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { fsError } from './file-source.js';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Called with the temporary file's path once it is complete and synced,
   * before it is renamed over the target: the moment a crash would leave the
   * old file and a stray temporary one. Fault-injection tests use it to
   * stop the process there.
   */
  readonly beforeRename?: (temporaryPath: string) => Promise<void> | void;
}

/**
 * Age after which a temporary file of the target is taken for one a killed
 * writer left behind: a live write keeps its own for the seconds it takes.
 */
const STALE_TEMPORARY_MS = 10 * 60 * 1000;

/**
 * Writes `chunks` to `path` atomically: a temporary file in the same
 * directory is written and fsynced, then renamed over the target, and the
 * directory is fsynced. A crash at any moment leaves either the old file or
 * the new one, never a torn mix. A crash before the rename also leaves the
 * temporary file (`.<name>.<12 hex digits>.tmp`); a later write of the same
 * target removes those older than ten minutes.
 */
export async function writeFileAtomic(path: string, chunks: readonly Uint8Array[], options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      for (const chunk of chunks) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(tmp);
    await rename(tmp, path);
    await syncDirectory(dir);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw fsError(cause, path, true);
  }
  await removeStaleTemporaries(dir, basename(path));
}

/** Removes the temporaries of `name` in `dir` that no write has touched for {@link STALE_TEMPORARY_MS}; failures are ignored (the next write tries again). */
async function removeStaleTemporaries(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.`;
  const ours = (entry: string) => entry.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(entry.slice(prefix.length));
  try {
    for (const entry of (await readdir(dir)).filter(ours)) {
      const at = join(dir, entry);
      if (Date.now() - (await stat(at)).mtimeMs > STALE_TEMPORARY_MS) await rm(at, { force: true });
    }
  } catch {
    // A listing or removal that fails leaves a stray file, nothing worse.
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
