import { LoraFuseError, isLoraFuseError, throwIfAborted } from '../../errors/index.js';
import { type HubClient, hubError, hubFetch } from './api.js';
import type { HubCache, HubFileInfo } from './cache.js';
import { blobHasher, feedSource, type HashFactory } from './hash.js';

/** Where one file stands: reported as a download goes, and once for a file found in the cache. */
export interface HubProgress {
  /** The repository id. */
  readonly repo: string;
  /** The file, relative to the repository. */
  readonly path: string;
  /** Bytes of the file on this device so far (a resumed download starts at what it had). */
  readonly loaded: number;
  /** The file's size in bytes. */
  readonly total: number;
  /** True when the file came from the cache and nothing was downloaded. */
  readonly cached: boolean;
}

/** What a download needs. */
export interface DownloadContext {
  readonly client: HubClient;
  readonly cache: HubCache;
  readonly hash: HashFactory;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: HubProgress) => void;
}

/** Breaks in a row (without a byte gained between them) after which a download gives up. */
const MAX_BREAKS = 5;

/**
 * Downloads `file` of `repo` at `commit` into the cache as the blob
 * `file.etag`: resumes (with `Range`) what an interrupted download left,
 * here or in an earlier run, checks the bytes against the etag, and when
 * they do not match throws them away and fetches the file again from the
 * start, once, before `HUB_INTEGRITY`.
 */
export async function downloadBlob(ctx: DownloadContext, repo: string, commit: string, file: HubFileInfo): Promise<void> {
  const url = `${ctx.client.endpoint}/${repo}/resolve/${commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
  let breaks = 0;
  let mismatches = 0;
  for (;;) {
    const progress = { have: 0 };
    try {
      if ((await fetchInto(ctx, repo, commit, file, url, progress)) === file.etag) return await ctx.cache.completePartial(repo, file.etag);
      await (await ctx.cache.writePartial(repo, file.etag, false)).close();
      if (++mismatches > 1) {
        throw new LoraFuseError(
          'HUB_INTEGRITY',
          `${file.path} of ${repo}@${commit} did not match its etag ${file.etag} twice in a row; the server or a proxy alters it.`,
          {
            details: { repo, commit, path: file.path, etag: file.etag },
          },
        );
      }
    } catch (cause) {
      if (!isLoraFuseError(cause, 'NETWORK_ERROR')) throw cause;
      breaks = progress.have > 0 ? 1 : breaks + 1;
      if (breaks > MAX_BREAKS) throw cause;
    }
  }
}

/**
 * One attempt: hashes what the partial download holds, fetches the rest
 * into it and returns the digest of the whole (not the etag when the server
 * sent more bytes than listed). `progress.have` counts the bytes gained.
 */
async function fetchInto(ctx: DownloadContext, repo: string, commit: string, file: HubFileInfo, url: string, progress: { have: number }): Promise<string> {
  const { cache, signal } = ctx;
  const partial = await cache.partial(repo, file.etag);
  let have = partial && partial.size <= file.size ? partial.size : 0;
  let hasher = blobHasher(file.etag, file.size, ctx.hash);
  if (have > 0) await feedSource(hasher, partial!, have, signal);
  const report = () => ctx.onProgress?.({ repo, path: file.path, loaded: have, total: file.size, cached: false });
  report();
  if (file.size === 0 && !partial) await (await cache.writePartial(repo, file.etag, false)).close(); // nothing to fetch, but a file to complete
  if (have < file.size) {
    const response = await hubFetch(ctx.client, url, have > 0 ? { Range: `bytes=${have}-` } : {}, signal);
    if (!response.ok) throw hubError(ctx.client, response, { repo, revision: commit, path: file.path });
    const resumed = have > 0 && response.status === 206 && rangeStart(response) === have;
    if (!resumed && have > 0) {
      // The server sent the whole file: start over.
      have = 0;
      hasher = blobHasher(file.etag, file.size, ctx.hash);
    }
    const writer = await cache.writePartial(repo, file.etag, resumed);
    const reader = response.body?.getReader();
    try {
      while (reader) {
        const chunk = await readChunk(reader, signal, () => `The download of ${file.path} of ${repo} broke off after ${have} of ${file.size} bytes`);
        if (chunk === undefined) break;
        if (have + chunk.byteLength > file.size) {
          await reader.cancel();
          return 'longer than listed';
        }
        hasher.update(chunk);
        await writer.write(chunk);
        have += chunk.byteLength;
        progress.have += chunk.byteLength;
        report();
      }
    } finally {
      await writer.close();
    }
  }
  if (have < file.size) {
    throw new LoraFuseError('NETWORK_ERROR', `The download of ${file.path} of ${repo} ended after ${have} of ${file.size} bytes.`, {
      details: { repo, path: file.path, received: have, size: file.size },
    });
  }
  return hasher.hex();
}

async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
  what: () => string,
): Promise<Uint8Array | undefined> {
  try {
    const { done, value } = await reader.read();
    throwIfAborted(signal);
    return done ? undefined : value;
  } catch (cause) {
    throwIfAborted(signal);
    if (isLoraFuseError(cause)) throw cause;
    throw new LoraFuseError('NETWORK_ERROR', `${what()}: ${(cause as Error)?.message ?? String(cause)}.`, { cause });
  }
}

/** The first byte a 206 answer holds, from `Content-Range: bytes first-last/size`. */
function rangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}
