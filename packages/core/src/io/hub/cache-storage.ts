import { LoraFuseError } from '../../errors/index.js';
import { safeRelativePath } from '../folder.js';
import { blobSource, type ByteSource } from '../source.js';
import type { HubCache, PartialWriter } from './cache.js';
import { repoFolderName } from './repo.js';

/** The part of a browser `Cache` that {@link cacheStorageHubCache} uses. */
export type CacheLike = Pick<Cache, 'match' | 'put' | 'delete' | 'keys'>;

// Cache API keys must be http(s) URLs; the reserved `.invalid` name never resolves, so no key is ever fetched.
const ROOT = 'https://lorafuse.invalid/hub/';
/** A partial download is stored in pieces of this size, so an interruption loses at most one piece. */
const PIECE = 16 << 20;

const enc = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/**
 * A {@link HubCache} in the browser's Cache API (by default the cache named
 * `lorafuse-hub`), so that a page reload does not download a model again.
 * It keeps the layout of Python's cache under synthetic URLs: refs, a
 * snapshot entry per file holding its blob's etag, blobs, and partial
 * downloads as numbered pieces that a later visit resumes.
 */
export function cacheStorageHubCache(cache?: CacheLike, name = 'the Cache API (lorafuse-hub)'): HubCache {
  let opened: Promise<CacheLike> | undefined;
  const store = () => (opened ??= cache ? Promise.resolve(cache) : caches.open('lorafuse-hub'));
  const key = (repo: string, ...parts: string[]) => `${ROOT}${repoFolderName(repo)}/${parts.join('/')}`;
  const blobKey = (repo: string, etag: string) => key(repo, 'blobs', etag);
  const snapshotKey = (repo: string, commit: string, path: string) => key(repo, 'snapshots', commit, enc(safeRelativePath(path, repo)));

  async function text(url: string): Promise<string | undefined> {
    return (await (await store()).match(url))?.text();
  }

  async function put(url: string, body: Blob | string): Promise<void> {
    try {
      await (await store()).put(url, new Response(body));
    } catch (cause) {
      throw new LoraFuseError('FILE_WRITE_FAILED', `Could not store ${url.slice(ROOT.length)} in ${name}: ${(cause as Error)?.message ?? cause}`, { cause });
    }
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    return (await (await store()).keys()).map((r) => r.url).filter((u) => u.startsWith(prefix));
  }

  /** The pieces of a partial download that follow each other from byte 0, in order. */
  async function pieces(repo: string, etag: string): Promise<{ url: string; blob: Blob }[]> {
    const prefix = key(repo, 'partial', etag, '');
    const starts = (await keysUnder(prefix)).map((u) => Number(u.slice(prefix.length))).sort((a, b) => a - b);
    const found: { url: string; blob: Blob }[] = [];
    let at = 0;
    for (const start of starts) {
      const response = start === at ? await (await store()).match(prefix + start) : undefined;
      if (!response) break;
      const blob = await response.blob();
      found.push({ url: prefix + start, blob });
      at += blob.size;
    }
    return found;
  }

  async function blob(repo: string, etag: string): Promise<ByteSource | undefined> {
    const response = await (await store()).match(blobKey(repo, etag));
    return response && blobSource(await response.blob(), `${name}/${repoFolderName(repo)}/blobs/${etag}`);
  }

  async function dropPieces(repo: string, etag: string): Promise<void> {
    const c = await store();
    for (const url of await keysUnder(key(repo, 'partial', etag, ''))) await c.delete(url);
  }

  return {
    name,
    async readRef(repo, revision) {
      return (await text(key(repo, 'refs', enc(revision))))?.trim() || undefined;
    },
    writeRef: (repo, revision, commit) => put(key(repo, 'refs', enc(revision)), commit),
    async readTree() {
      return undefined;
    },
    async snapshotFile(repo, commit, path) {
      const etag = await text(snapshotKey(repo, commit, path));
      const source = etag === undefined ? undefined : await blob(repo, etag);
      return source && { source, etag };
    },
    async snapshotFiles(repo, commit) {
      const prefix = key(repo, 'snapshots', commit, '');
      return (await keysUnder(prefix)).map((u) => u.slice(prefix.length).split('/').map(decodeURIComponent).join('/'));
    },
    link: (repo, commit, path, etag) => put(snapshotKey(repo, commit, path), etag),
    blob,
    async partial(repo, etag) {
      const found = await pieces(repo, etag);
      return found.length ? blobSource(new Blob(found.map((p) => p.blob)), `${name}/${repoFolderName(repo)}/partial/${etag}`) : undefined;
    },
    async writePartial(repo, etag, resume): Promise<PartialWriter> {
      if (!resume) await dropPieces(repo, etag);
      let offset = resume ? (await pieces(repo, etag)).reduce((n, p) => n + p.blob.size, 0) : 0;
      let buffered: Uint8Array[] = [];
      let size = 0;
      const flush = async () => {
        if (size === 0) return;
        await put(key(repo, 'partial', etag, String(offset)), new Blob(buffered as Uint8Array<ArrayBuffer>[]));
        offset += size;
        buffered = [];
        size = 0;
      };
      return {
        async write(chunk) {
          buffered.push(chunk);
          size += chunk.byteLength;
          if (size >= PIECE) await flush();
        },
        close: flush,
      };
    },
    async completePartial(repo, etag) {
      const found = await pieces(repo, etag);
      await put(blobKey(repo, etag), new Blob(found.map((p) => p.blob)));
      await dropPieces(repo, etag);
    },
  };
}
