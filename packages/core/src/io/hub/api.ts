import { LoraFuseError } from '../../errors/index.js';
import { safeRelativePath } from '../folder.js';
import { parseJsonBytes } from '../text.js';
import { request, responseBytes } from '../url.js';
import type { HubFileInfo } from './cache.js';
import { isCommitHash } from './repo.js';

/** How to reach the Hub. */
export interface HubClient {
  /** The Hub's base URL, without a trailing `/`. */
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer …` to the endpoint's own origin, nowhere else. */
  readonly token?: string;
  readonly fetch: typeof fetch;
}

/** What a request was about, for its error message. */
export interface HubTarget {
  readonly repo: string;
  readonly revision: string;
  /** The file, for `resolve/` requests. */
  readonly path?: string;
}

const MAX_REDIRECTS = 8;

/**
 * `fetch` for the Hub. Redirects are followed here one hop at a time so that
 * the token goes to the endpoint's origin only, never to the storage host a
 * `resolve/` redirect points to. Returns the first response that is not a
 * redirect.
 */
export async function hubFetch(client: HubClient, url: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Response> {
  const origin = new URL(client.endpoint).origin;
  let at = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sent = new URL(at).origin === origin && client.token ? { ...headers, Authorization: `Bearer ${client.token}` } : headers;
    const response = await request(client.fetch, at, { headers: sent, redirect: 'manual' }, signal);
    if (response.type === 'opaqueredirect') {
      // A browser hides the target of a redirect; letting it follow is safe, since browsers drop Authorization across origins.
      return request(client.fetch, at, { headers: sent }, signal);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    at = new URL(location, at).href;
  }
  throw new LoraFuseError('HTTP_ERROR', `${url} redirected more than ${MAX_REDIRECTS} times.`, { details: { url } });
}

/** The typed error for a Hub response that is not OK; never quotes the token. */
export function hubError(client: HubClient, response: Response, target: HubTarget): LoraFuseError {
  const { repo, revision, path } = target;
  const status = response.status;
  const details = { repo, revision, ...(path !== undefined && { path }), status, endpoint: client.endpoint };
  const kind = response.headers.get('x-error-code');
  // A storage host refusing a signed URL is no matter of tokens: only the Hub's own refusals are.
  const fromHub = !response.url || new URL(response.url).origin === new URL(client.endpoint).origin;
  if (fromHub && (status === 401 || status === 403)) {
    const fix = client.token
      ? 'The token given (HF_TOKEN, or the token option) does not grant access to it: check the token and, for a gated repository, accept its terms on the Hub with that account.'
      : 'Set HF_TOKEN (or pass the token option) to an access token of an account that may read it.';
    return new LoraFuseError('HUB_AUTH_REQUIRED', `${client.endpoint} refused ${repo} (HTTP ${status}): it is gated or private, or does not exist. ${fix}`, {
      details,
    });
  }
  if (status === 404 && path !== undefined && kind !== 'RepoNotFound' && kind !== 'RevisionNotFound') {
    return new LoraFuseError('FILE_NOT_FOUND', `${path} was not found in ${repo}@${revision}.`, { details });
  }
  if (status === 404) {
    const what = kind === 'RevisionNotFound' ? `Revision "${revision}" of ${repo}` : `Repository ${repo}`;
    return new LoraFuseError('HUB_REPO_NOT_FOUND', `${what} was not found on ${client.endpoint}; check the id (a private repository also needs HF_TOKEN).`, {
      details,
    });
  }
  return new LoraFuseError('HTTP_ERROR', `${response.url || client.endpoint} answered ${status} ${response.statusText} for ${repo}.`, { details });
}

async function getJson(client: HubClient, url: string, target: HubTarget, signal: AbortSignal | undefined): Promise<{ json: unknown; next?: string }> {
  const response = await hubFetch(client, url, { Accept: 'application/json' }, signal);
  if (!response.ok) throw hubError(client, response, target);
  const json = parseJsonBytes(await responseBytes(response, signal), url);
  return { json, next: nextLink(response.headers.get('link'), url) };
}

/** The `rel="next"` target of a `Link` header, by which the Hub pages long listings. */
function nextLink(header: string | null, base: string): string | undefined {
  const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(header ?? '');
  return match ? new URL(match[1], base).href : undefined;
}

function badAnswer(url: string, what: string): LoraFuseError {
  return new LoraFuseError('HTTP_ERROR', `${url} answered ${what}; is the endpoint a Hugging Face Hub?`, { details: { url } });
}

/** The commit a branch, tag or commit of a model repository names now (`GET /api/models/{repo}/revision/{revision}`). */
export async function fetchCommit(client: HubClient, repo: string, revision: string, signal?: AbortSignal): Promise<string> {
  const url = `${client.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const { json } = await getJson(client, url, { repo, revision }, signal);
  const sha = (json as { sha?: unknown } | null)?.sha;
  if (typeof sha !== 'string' || !isCommitHash(sha)) throw badAnswer(url, 'without a 40-digit commit id in "sha"');
  return sha;
}

/** Every file of a model repository at `commit` (`GET /api/models/{repo}/tree/{commit}?recursive=true`, all pages). */
export async function fetchTree(client: HubClient, repo: string, commit: string, signal?: AbortSignal): Promise<HubFileInfo[]> {
  const files: HubFileInfo[] = [];
  let url: string | undefined = `${client.endpoint}/api/models/${repo}/tree/${commit}?recursive=true`;
  while (url !== undefined) {
    const page: { json: unknown; next?: string } = await getJson(client, url, { repo, revision: commit }, signal);
    if (!Array.isArray(page.json)) throw badAnswer(url, 'a tree listing that is not a list');
    for (const entry of page.json) if (entry?.type === 'file') files.push(fileInfo(entry, url, repo));
    url = page.next;
  }
  return files;
}

function fileInfo(entry: Record<string, unknown>, url: string, repo: string): HubFileInfo {
  const lfs = entry.lfs as { oid?: unknown; size?: unknown } | undefined;
  const etag = lfs ? lfs.oid : entry.oid;
  const size = lfs ? lfs.size : entry.size;
  const hex = lfs ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{40}$/;
  if (typeof entry.path !== 'string' || typeof etag !== 'string' || !hex.test(etag) || !Number.isSafeInteger(size) || (size as number) < 0) {
    throw badAnswer(url, `a tree entry without a valid path, ${lfs ? 'LFS SHA-256' : 'git blob id'} or size (${JSON.stringify(entry).slice(0, 200)})`);
  }
  return { path: safeRelativePath(entry.path, repo), size: size as number, etag };
}
