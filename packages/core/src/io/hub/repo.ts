import { LoraFuseError } from '../../errors/index.js';

/** A model repository id and revision as written on a command line: `org/name`, `org/name@revision`. */
export interface HubReference {
  /** `org/name` (or a legacy `name` without an organisation). */
  readonly repo: string;
  /** A branch, tag or commit; absent means `main`. */
  readonly revision?: string;
}

const PART = /^(?![-.])(?!.*(--|\.\.))[\w.-]{1,96}(?<![-.])$/;

/** True for a repository id as the Hub accepts it: `[org/]name`, letters, digits, `_`, `-` and `.`, no `--` or `..`. */
export function isRepoId(text: string): boolean {
  const parts = text.split('/');
  return parts.length <= 2 && parts.every((p) => PART.test(p));
}

/** True for a full 40-digit commit id, which names a snapshot that never changes. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/**
 * Parses `org/name` or `org/name@revision` (the revision may hold `/`, as
 * `refs/pr/1` does). Returns undefined for text of another shape, such as a
 * path with more segments.
 */
export function parseHubReference(text: string): HubReference | undefined {
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? undefined : text.slice(at + 1);
  if (!isRepoId(repo) || (revision !== undefined && !isRevision(revision))) return undefined;
  return revision === undefined ? { repo } : { repo, revision };
}

function isRevision(revision: string): boolean {
  const parts = revision.split('/');
  return revision !== '' && !/[\0\\]/.test(revision) && parts.every((p) => p !== '' && p !== '.' && p !== '..');
}

/** Throws `INVALID_OPTION` unless `repo` and `revision` are valid; a revision is also a path under the cache's `refs/`. */
export function checkReference(repo: string, revision: string): void {
  if (!isRepoId(repo)) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      `"${repo}" is not a Hub repository id: write org/name with letters, digits, "_", "-" and "." (no "--" or "..").`,
      { details: { repo } },
    );
  }
  if (!isRevision(revision)) {
    throw new LoraFuseError('INVALID_OPTION', `"${revision}" is not a revision: give a branch, tag or commit id.`, { details: { revision } });
  }
}

/** The folder of a model repository in Python's `huggingface_hub` cache: `models--org--name`. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}
