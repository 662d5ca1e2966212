import { LoraFuseError } from '../errors/index.js';
import { directoryHandleFolder, safeRelativePath, type WritableFolder } from './folder.js';

/** The origin's private file system root, or `FILE_WRITE_FAILED` where the browser has none (Node, old browsers, some private windows). */
async function opfsRoot(): Promise<FileSystemDirectoryHandle> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') {
    throw new LoraFuseError(
      'FILE_WRITE_FAILED',
      'This environment has no origin private file system (navigator.storage.getDirectory); keep the state in a memoryFolder instead.',
    );
  }
  try {
    return await storage.getDirectory();
  } catch (cause) {
    throw new LoraFuseError('FILE_WRITE_FAILED', `The origin private file system is not available here: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A {@link WritableFolder} in the origin private file system (OPFS) under
 * `path` (created when missing): storage that survives a reload, for
 * trainer checkpoints (`train({ checkpoint: { folder } })`) and copies of
 * the inputs a run needs to resume. Writes are atomic, as in
 * `directoryHandleFolder`. Throws `FILE_WRITE_FAILED` where there is no OPFS.
 */
export async function opfsFolder(path: string): Promise<WritableFolder> {
  let dir = await opfsRoot();
  const clean = safeRelativePath(path, 'OPFS');
  for (const part of clean.split('/')) dir = await dir.getDirectoryHandle(part, { create: true });
  return directoryHandleFolder(dir, `opfs:${clean}`);
}

/** True when `path` holds a folder in the origin private file system (false where there is no OPFS). */
export async function opfsFolderExists(path: string): Promise<boolean> {
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await opfsRoot();
    for (const part of safeRelativePath(path, 'OPFS').split('/')) dir = await dir.getDirectoryHandle(part);
    return true;
  } catch {
    return false;
  }
}

/** Deletes the folder `path` and everything in it from the origin private file system; a missing folder is not an error. */
export async function removeOpfsFolder(path: string): Promise<void> {
  const parts = safeRelativePath(path, 'OPFS').split('/');
  let parent = await opfsRoot();
  try {
    for (const part of parts.slice(0, -1)) parent = await parent.getDirectoryHandle(part);
    await parent.removeEntry(parts[parts.length - 1], { recursive: true });
  } catch (cause) {
    if ((cause as DOMException)?.name === 'NotFoundError') return;
    throw new LoraFuseError('FILE_WRITE_FAILED', `Could not delete opfs:${parts.join('/')}: ${(cause as Error).message}`, { cause });
  }
}
