import { type FileHandle, lstat, mkdir, open, readFile, readdir, readlink, rename, rm, stat, symlink, copyFile } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { safeRelativePath } from '../io/folder.js';
import type { HubCache, HubFileInfo, PartialWriter } from '../io/hub/cache.js';
import { isCommitHash, repoFolderName } from '../io/hub/repo.js';
import type { ByteSource } from '../io/source.js';
import { writeFileAtomic } from './atomic-write.js';
import { fileSource, fsError } from './file-source.js';

type Env = Readonly<Record<string, string | undefined>>;

const home = (path: string) => (path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path);

/** Hugging Face's home folder as Python finds it: `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  return home(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'));
}

/** The Hub cache folder as Python's `huggingface_hub` finds it: `HF_HUB_CACHE`, else `$HF_HOME/hub` (see {@link hfHome}). */
export function hubCacheDir(env: Env = process.env): string {
  return env.HF_HUB_CACHE ? home(env.HF_HUB_CACHE) : join(hfHome(env), 'hub');
}

const isEtag = (name: string) => /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(name);

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sourceIfFile(path: string): Promise<ByteSource | undefined> {
  return (await exists(path)) ? fileSource(path) : undefined;
}

/**
 * A {@link HubCache} on disk in the layout of Python's `huggingface_hub`
 * (default {@link hubCacheDir}): `models--org--name/blobs/<etag>`,
 * `snapshots/<commit>/<path>` as relative symlinks to the blobs (copies
 * where symlinks cannot be made), `refs/<revision>` holding a commit, and
 * `blobs/<etag>.incomplete` for a download in progress. Python and
 * LoRAFuse therefore use each other's downloads and resume each other's
 * interrupted ones. Python's tree listings (`trees/<commit>.json`) are read
 * but never written: Python takes a listed file that is missing from the
 * snapshot for a broken download, and LoRAFuse downloads only the files
 * that are opened.
 */
export function nodeHubCache(dir: string = hubCacheDir()): HubCache {
  const root = resolve(dir);
  const repoDir = (repo: string) => join(root, repoFolderName(repo));
  const blobPath = (repo: string, etag: string) => {
    if (!isEtag(etag)) throw fsError(new Error(`"${etag}" is not an etag`), join(repoDir(repo), 'blobs'), true);
    return join(repoDir(repo), 'blobs', etag);
  };
  const snapshotDir = (repo: string, commit: string) => join(repoDir(repo), 'snapshots', commit);
  const snapshotPath = (repo: string, commit: string, path: string) => join(snapshotDir(repo, commit), safeRelativePath(path, repo));

  return {
    name: root,
    async readRef(repo, revision) {
      try {
        const commit = (await readFile(join(repoDir(repo), 'refs', revision), 'utf8')).trim();
        return isCommitHash(commit) ? commit : undefined;
      } catch {
        return undefined;
      }
    },
    // Python writes the bare commit, no newline, and reads it back without stripping.
    writeRef: (repo, revision, commit) => writeFileAtomic(join(repoDir(repo), 'refs', revision), [new TextEncoder().encode(commit)]),
    async readTree(repo, commit) {
      try {
        return parseTree(JSON.parse(await readFile(join(repoDir(repo), 'trees', `${commit}.json`), 'utf8')), repo);
      } catch {
        return undefined; // absent or unreadable: as Python, fetch the listing
      }
    },
    async snapshotFile(repo, commit, path) {
      const at = snapshotPath(repo, commit, path);
      let link: string | undefined;
      try {
        if ((await lstat(at)).isSymbolicLink()) link = basename(await readlink(at));
      } catch {
        return undefined;
      }
      const source = await sourceIfFile(at);
      return source && { source, ...(link !== undefined && isEtag(link) && { etag: link }) };
    },
    snapshotFiles: (repo, commit) => walk(snapshotDir(repo, commit), ''),
    async link(repo, commit, path, etag) {
      const pointer = snapshotPath(repo, commit, path);
      const blob = blobPath(repo, etag);
      const temporary = `${pointer}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(pointer), { recursive: true });
        try {
          await symlink(relative(dirname(pointer), blob), temporary);
        } catch {
          await copyFile(blob, temporary); // no symlinks here (Windows without developer mode), as Python does
        }
        await rename(temporary, pointer);
      } catch (cause) {
        await rm(temporary, { force: true });
        throw fsError(cause, pointer, true);
      }
    },
    blob: (repo, etag) => sourceIfFile(blobPath(repo, etag)),
    partial: (repo, etag) => sourceIfFile(`${blobPath(repo, etag)}.incomplete`),
    async writePartial(repo, etag, resume): Promise<PartialWriter> {
      const path = `${blobPath(repo, etag)}.incomplete`;
      let handle: FileHandle;
      try {
        await mkdir(dirname(path), { recursive: true });
        handle = await open(path, resume ? 'a' : 'w');
      } catch (cause) {
        throw fsError(cause, path, true);
      }
      return {
        async write(chunk) {
          try {
            for (let at = 0; at < chunk.byteLength; ) at += (await handle.write(chunk, at)).bytesWritten;
          } catch (cause) {
            throw fsError(cause, path, true);
          }
        },
        async close() {
          try {
            await handle.sync();
          } finally {
            await handle.close();
          }
        },
      };
    },
    async completePartial(repo, etag) {
      const blob = blobPath(repo, etag);
      try {
        await rename(`${blob}.incomplete`, blob);
      } catch (cause) {
        throw fsError(cause, blob, true);
      }
    },
  };
}

/** The files and links under `dir`, as sorted `/`-separated paths relative to it (none when it does not exist). */
async function walk(dir: string, prefix: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) found.push(...(await walk(join(dir, e.name), `${prefix}${e.name}/`)));
    else found.push(`${prefix}${e.name}`);
  }
  return found.sort();
}

/** The files of Python's `trees/<commit>.json` (format 1), or undefined for any other content. */
function parseTree(data: unknown, repo: string): HubFileInfo[] | undefined {
  const { format_version, files } = (data ?? {}) as { format_version?: unknown; files?: Record<string, Record<string, unknown>> };
  if (format_version !== 1 || typeof files !== 'object' || files === null) return undefined;
  const out: HubFileInfo[] = [];
  for (const [path, info] of Object.entries(files)) {
    const etag = info?.lfs_sha256 ?? info?.blob_id;
    const size = info?.lfs_sha256 !== undefined ? info?.lfs_size : info?.size;
    if (typeof etag !== 'string' || !isEtag(etag) || !Number.isSafeInteger(size)) return undefined;
    out.push({ path: safeRelativePath(path, repo), size: size as number, etag });
  }
  return out;
}
