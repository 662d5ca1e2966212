import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHubReference, readFile as readFolderFile, type Folder, type HubFolder, type HubProgress, type ProvenanceFile } from '@lorafuse/core';
import { hubFolder, nodeFolder } from '@lorafuse/core/node';
import type { ParsedCommand } from './args.js';
import { humanBytes } from './format.js';
import type { CliIO } from './io.js';
import { progressBar } from './progress.js';

/** A model or adapter folder named on the command line. */
export interface InputFolder {
  readonly folder: Folder;
  /** What the command line said. */
  readonly spec: string;
  /** The directory, for a folder on disk. */
  readonly dir?: string;
  /** The repository, for `org/name[@revision]` on the Hub, and the files read from it so far. */
  readonly hub?: { readonly folder: HubFolder; readonly read: ReadonlySet<string> };
}

/** Opens what a command line names as a folder. */
export type FolderOpener = (spec: string) => Promise<InputFolder>;

/** Usage text for options that take a folder. */
export const FOLDER_USAGE = `  A model or adapter folder may also be a Hugging Face Hub repository, org/name or
  org/name@revision (a path that exists wins), downloaded once into Python's Hub cache
  (HF_HUB_CACHE or HF_HOME; HF_TOKEN for gated repositories, HF_HUB_OFFLINE=1 to use
  the cache only, HF_ENDPOINT for a mirror).`;

/**
 * The one way commands open the model and adapter folders they are given:
 * a path that exists is a folder on disk; otherwise `org/name[@revision]`
 * is a Hub repository, fetched through Python's cache with the Hub's
 * environment variables, its downloads shown on stderr (unless `--quiet`);
 * anything else stays a path, so that a missing folder is reported as one.
 */
export function folderOpener(io: CliIO, parsed: ParsedCommand): FolderOpener {
  const progress = progressBar(io, Boolean(parsed.values.quiet), humanBytes);
  let shown = { label: '', at: 0 };
  const onProgress = ({ repo, path, loaded, total, cached }: HubProgress) => {
    const label = `${repo} ${path}`;
    const now = performance.now();
    const done = loaded >= total;
    // A redraw per chunk would be tens of thousands per gigabyte: at most ten a second, plus each file's first and last.
    if (cached || (!done && label === shown.label && now - shown.at < 100)) return;
    shown = { label, at: now };
    progress.update(label, loaded, total);
    if (done) progress.end();
  };
  return async (spec) => {
    const reference = existsSync(spec) || !spec.includes('/') ? undefined : parseHubReference(spec);
    if (!reference) return { folder: nodeFolder(spec), spec, dir: spec };
    const hub = await hubFolder(reference.repo, { revision: reference.revision, onProgress });
    const read = new Set<string>();
    const folder: Folder = {
      name: hub.name,
      exists: (path) => hub.exists(path),
      async open(path) {
        const source = await hub.open(path);
        read.add(path);
        return source;
      },
    };
    return { folder, spec, hub: { folder: hub, read } };
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * SHA-256 of every file an input consists of: a file itself, each regular
 * file at the top of a folder on disk, or each file read from a Hub
 * repository (named `org/name@commit/path`; an LFS file's etag is its SHA-256).
 */
export async function hashInputs(role: ProvenanceFile['role'], inputs: readonly (InputFolder | string)[]): Promise<ProvenanceFile[]> {
  const files: ProvenanceFile[] = [];
  for (const input of inputs) {
    if (typeof input !== 'string' && input.hub) {
      const { folder, read } = input.hub;
      for (const path of [...read].sort()) {
        const etag = folder.files?.find((f) => f.path === path)?.etag;
        const hash = etag?.length === 64 ? etag : sha256(await readFolderFile(folder, path));
        files.push({ role, path: `${folder.repo}@${folder.commit}/${path}`, sha256: hash });
      }
      continue;
    }
    const path = typeof input === 'string' ? input : input.dir!;
    const names = (await stat(path)).isDirectory()
      ? (await readdir(path, { withFileTypes: true }))
          .filter((e) => e.isFile())
          .map((e) => join(path, e.name))
          .sort()
      : [path];
    for (const file of names) files.push({ role, path: file, sha256: sha256(await readFile(file)) });
  }
  return files;
}
