import { LoraFuseError, isLoraFuseError } from '../../errors/index.js';
import { fileNotFound, safeRelativePath, type Folder } from '../folder.js';
import type { ByteSource } from '../source.js';
import { type HubClient, fetchCommit, fetchTree } from './api.js';
import type { HubCache, HubCachedFile, HubFileInfo } from './cache.js';
import { cacheStorageHubCache } from './cache-storage.js';
import { type DownloadContext, type HubProgress, downloadBlob } from './download.js';
import { blobHasher, feedSource, type HashFactory, portableHash } from './hash.js';
import { checkReference, isCommitHash } from './repo.js';

/** The public Hub; `HF_ENDPOINT` (in Node) or the `endpoint` option names another, such as a mirror. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Options of {@link hubFolder}. */
export interface HubFolderOptions {
  /** Branch, tag or commit (default `main`). */
  readonly revision?: string;
  /** Access token for gated and private repositories; sent to the endpoint only, never to the hosts its downloads redirect to. */
  readonly token?: string;
  /** Where files are kept (default: the browser's Cache API where there is one; `@lorafuse/core/node` uses Python's cache). */
  readonly cache?: HubCache;
  /** Use only the cache: never ask the Hub (a missing revision or file throws `HUB_NOT_CACHED`). */
  readonly offline?: boolean;
  /** The Hub's base URL (default {@link DEFAULT_HUB_ENDPOINT}). */
  readonly endpoint?: string;
  /** Cancels the revision lookup and every download (an interrupted download resumes next time). */
  readonly signal?: AbortSignal;
  /** Called as each file's bytes arrive, and once for each file found in the cache. */
  readonly onProgress?: (progress: HubProgress) => void;
  /**
   * `download` (default): check each file's bytes against its etag as it is
   * downloaded, and a cached file's size against the listing; `all`: also
   * hash every cached file once per folder before it is used, fetching
   * again the ones that do not match.
   */
  readonly verify?: 'download' | 'all';
  /** The `fetch` to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Makes the hashers that check files (default the portable ones; `@lorafuse/core/node` passes `node:crypto`'s). */
  readonly hash?: HashFactory;
}

/** A model repository of the Hub at one commit, read as a {@link Folder}: files are downloaded to the cache when opened. */
export interface HubFolder extends Folder {
  /** The repository id, `org/name`. */
  readonly repo: string;
  /** The revision asked for. */
  readonly revision: string;
  /** The commit it resolved to. */
  readonly commit: string;
  /** True when the Hub was not asked (offline mode, or the Hub could not be reached and the cache knew the revision). */
  readonly offline: boolean;
  /** Every file of the commit, when known: always online; offline when the cache kept the listing. */
  readonly files: readonly HubFileInfo[] | undefined;
  /** The paths of this commit's files that are in the cache now. */
  cachedFiles(): Promise<string[]>;
}

/**
 * A model repository of the Hugging Face Hub as a {@link Folder}, usable
 * wherever one is (`CausalLM.load`, `loadAdapter`, `HfTokenizer.load`).
 * The revision is resolved to a commit and the file list fetched once;
 * `open` downloads a file into the cache the first time and serves it from
 * there afterwards (resuming interrupted downloads, checking every file
 * against its etag). Offline, only the cache is read.
 *
 * Throws `HUB_AUTH_REQUIRED` (401/403), `HUB_REPO_NOT_FOUND`,
 * `HUB_NOT_CACHED` (offline), `NETWORK_ERROR` (unreachable and not cached),
 * `ABORTED`, `INVALID_OPTION`; `open` also throws `FILE_NOT_FOUND` and
 * `HUB_INTEGRITY`.
 */
export async function hubFolder(repo: string, options: HubFolderOptions = {}): Promise<HubFolder> {
  const revision = options.revision ?? 'main';
  checkReference(repo, revision);
  const cache = options.cache ?? defaultCache();
  const client: HubClient = {
    endpoint: (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ''),
    token: options.token || undefined,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
  };
  const { signal } = options;
  let offline = options.offline === true;
  let commit: string | undefined = isCommitHash(revision) ? revision : undefined;
  let files: HubFileInfo[] | undefined;
  if (!offline) {
    try {
      commit ??= await fetchCommit(client, repo, revision, signal);
      files = (await cache.readTree(repo, commit)) ?? (await fetchTree(client, repo, commit, signal));
      if (!isCommitHash(revision)) await cache.writeRef(repo, revision, commit);
    } catch (cause) {
      // As Python does: an unreachable Hub is not fatal when the cache knows the revision.
      if (!isLoraFuseError(cause, 'NETWORK_ERROR')) throw cause;
      commit ??= await cache.readRef(repo, revision);
      if (commit === undefined) throw cause;
      offline = true;
    }
  }
  if (offline) {
    commit ??= await cache.readRef(repo, revision);
    if (commit === undefined) {
      throw new LoraFuseError(
        'HUB_NOT_CACHED',
        `${repo}@${revision} is not in ${cache.name}, and the Hub may not be asked (HF_HUB_OFFLINE or the offline option): download it once online.`,
        { details: { repo, revision, cache: cache.name } },
      );
    }
    files = await cache.readTree(repo, commit);
  }
  return snapshotFolder({ client, cache, hash: options.hash ?? portableHash, signal, onProgress: options.onProgress }, repo, revision, commit!, files, {
    offline,
    verifyAll: options.verify === 'all',
  });
}

function defaultCache(): HubCache {
  if (typeof caches !== 'undefined') return cacheStorageHubCache();
  throw new LoraFuseError(
    'INVALID_OPTION',
    "hubFolder needs a cache here (no Cache API): in Node import hubFolder from @lorafuse/core/node, which uses Python's Hugging Face cache, or pass the cache option.",
  );
}

function snapshotFolder(
  ctx: DownloadContext,
  repo: string,
  revision: string,
  commit: string,
  files: readonly HubFileInfo[] | undefined,
  mode: { offline: boolean; verifyAll: boolean },
): HubFolder {
  const { cache } = ctx;
  const name = `${repo}@${revision}`;
  const listed = new Map(files?.map((f) => [f.path, f]));
  const checked = new Set<string>();
  const downloads = new Map<string, Promise<void>>();

  /** Whether a cached file can be used as it is: its size as listed and, with `verify: 'all'`, its hash. */
  async function sound(file: HubCachedFile, info: HubFileInfo | undefined): Promise<boolean> {
    if (info && file.source.size !== info.size) return false;
    const etag = file.etag ?? info?.etag;
    if (!mode.verifyAll || etag === undefined || checked.has(etag)) return true;
    const hasher = blobHasher(etag, file.source.size, ctx.hash);
    await feedSource(hasher, file.source, file.source.size, ctx.signal);
    if (hasher.hex() !== etag) return false;
    checked.add(etag);
    return true;
  }

  function download(info: HubFileInfo): Promise<void> {
    let pending = downloads.get(info.etag);
    if (!pending) {
      pending = downloadBlob(ctx, repo, commit, info).finally(() => downloads.delete(info.etag));
      downloads.set(info.etag, pending);
    }
    return pending;
  }

  async function open(key: string): Promise<ByteSource> {
    const info = listed.get(key);
    if (files && !info) throw fileNotFound(key, name);
    const cached = await cache.snapshotFile(repo, commit, key);
    if (cached && (await sound(cached, info))) {
      ctx.onProgress?.({ repo, path: key, loaded: cached.source.size, total: cached.source.size, cached: true });
      return cached.source;
    }
    if (mode.offline || !info) throw notCached(key, cached !== undefined);
    const blob = await cache.blob(repo, info.etag);
    if (!blob || !(await sound({ source: blob, etag: info.etag }, info))) await download(info);
    checked.add(info.etag);
    await cache.link(repo, commit, key, info.etag);
    const linked = await cache.snapshotFile(repo, commit, key);
    if (!linked) throw new LoraFuseError('FILE_READ_FAILED', `${key} of ${name} vanished from ${cache.name} right after it was stored.`);
    return linked.source;
  }

  function notCached(key: string, corrupt: boolean): LoraFuseError {
    const why = corrupt ? 'is corrupt in' : 'is not in';
    return new LoraFuseError(
      corrupt ? 'HUB_INTEGRITY' : 'HUB_NOT_CACHED',
      `${key} of ${name} ${why} ${cache.name}, and the Hub may not be asked (HF_HUB_OFFLINE, the offline option, or no connection): fetch it once online.`,
      { details: { repo, revision, commit, path: key } },
    );
  }

  return {
    name,
    repo,
    revision,
    commit,
    offline: mode.offline,
    files,
    open: (path) => open(safeRelativePath(path, name)),
    async exists(path) {
      const key = safeRelativePath(path, name);
      return files ? listed.has(key) : (await cache.snapshotFile(repo, commit, key)) !== undefined;
    },
    cachedFiles: () => cache.snapshotFiles(repo, commit),
  };
}
