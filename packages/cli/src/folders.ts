import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseHubReference, readFile as readFolderFile, type Folder, type HubFolder, type HubProgress, type ProvenanceFile } from '@lorafuse/core';
import { hubFolder, nodeFolder } from '@lorafuse/core/node';
import type { ParsedCommand } from './args.js';
import { humanBytes } from './format.js';
import { sha256File, topLevelFiles } from './hash.js';
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

/** Files of a Hub repository that a model or adapter can read (weights, configs, tokenizers, templates), not its README and the like. */
const USED_FROM_HUB = /\.(safetensors|json|jinja|model|txt|gguf)$/;

/**
 * SHA-256 of every file an input consists of, taken before the run and by
 * streaming, so a file of any size is hashed without being held in memory:
 * a file itself, each regular file at the top of a folder on disk, or each
 * file a model or adapter can use in a Hub repository (named
 * `org/name@commit/path`; an LFS file's etag is its SHA-256, a small file
 * is read from the cache).
 */
export async function hashInputs(role: ProvenanceFile['role'], inputs: readonly (InputFolder | string)[]): Promise<ProvenanceFile[]> {
  const files: ProvenanceFile[] = [];
  for (const input of inputs) {
    if (typeof input !== 'string' && input.hub) {
      const { folder } = input.hub;
      for (const { path, etag } of [...(folder.files ?? [])].filter((f) => USED_FROM_HUB.test(f.path)).sort((x, y) => (x.path < y.path ? -1 : 1))) {
        const hash = etag?.length === 64 ? etag : sha256(await readFolderFile(folder, path));
        files.push({ role, path: `${folder.repo}@${folder.commit}/${path}`, sha256: hash });
      }
      continue;
    }
    const path = typeof input === 'string' ? input : input.dir!;
    for (const file of await topLevelFiles(path)) files.push({ role, path: file, sha256: await sha256File(file) });
  }
  return files;
}
