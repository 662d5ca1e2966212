import type { ByteSource } from '../source.js';

/** A file of a repository at a commit, as the Hub lists it. */
export interface HubFileInfo {
  /** Relative path in the repository (`/`-separated). */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** What the cache names the blob by: an LFS file's SHA-256, else its git blob id (both lowercase hex). */
  readonly etag: string;
}

/** A file of a cached snapshot. */
export interface HubCachedFile {
  /** Its bytes. */
  readonly source: ByteSource;
  /** The blob it links to; unknown where the cache holds copies instead of links (Python's cache on Windows without symlinks). */
  readonly etag?: string;
}

/** Appends to an interrupted download. */
export interface PartialWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes what was written durable; called once, also after a failure, so that the bytes can be resumed. */
  close(): Promise<void>;
}

/**
 * Where downloaded Hub files are kept, in the shape of Python's
 * `huggingface_hub` cache: per repository, blobs named by etag, snapshots
 * (one per commit) that map paths to blobs, and refs that map branch and tag
 * names to commits. `@lorafuse/core/node` keeps it on disk in Python's own
 * layout; {@link cacheStorageHubCache} keeps it in a browser's Cache API.
 */
export interface HubCache {
  /** Where it is, for messages. */
  readonly name: string;
  /** The commit `revision` (a branch or tag) pointed to when last resolved online. */
  readRef(repo: string, revision: string): Promise<string | undefined>;
  writeRef(repo: string, revision: string, commit: string): Promise<void>;
  /** The full listing of `commit` when the cache holds one (Python keeps it in `trees/<commit>.json`). */
  readTree(repo: string, commit: string): Promise<HubFileInfo[] | undefined>;
  /** A file of the snapshot of `commit`, when cached. */
  snapshotFile(repo: string, commit: string, path: string): Promise<HubCachedFile | undefined>;
  /** Paths of the snapshot of `commit` that are cached. */
  snapshotFiles(repo: string, commit: string): Promise<string[]>;
  /** Makes `path` of the snapshot of `commit` the blob `etag`, which must be complete. */
  link(repo: string, commit: string, path: string, etag: string): Promise<void>;
  /** A complete blob. */
  blob(repo: string, etag: string): Promise<ByteSource | undefined>;
  /** What an interrupted download of the blob left, if anything. */
  partial(repo: string, etag: string): Promise<ByteSource | undefined>;
  /** Opens the blob's partial download for appending (`resume`) or empty. */
  writePartial(repo: string, etag: string, resume: boolean): Promise<PartialWriter>;
  /** Turns the partial download, checked by the caller, into the blob (replacing a corrupt one). */
  completePartial(repo: string, etag: string): Promise<void>;
}
