// A local stand-in for the Hugging Face Hub, answering as the Hub's read
// endpoints do (DESIGN.md §8), so that the Hub client, the command line and
// Python's huggingface_hub are tested without the network:
//   GET  /api/models/{repo}[/revision/{rev}]          sha, siblings
//   GET  /api/models/{repo}/tree/{rev}[/{path}]        recursive, expand, pages linked by `Link: rel="next"`
//   HEAD|GET /{repo}/resolve/{rev}/{path}              small files: 200/206 with ETag (git blob id) and X-Repo-Commit;
//                                                      LFS files (*.safetensors): 302 to a second server under another
//                                                      host name (localhost) with X-Linked-Etag (SHA-256), X-Linked-Size
// and 401 for a gated repository without its token, 404 with the Hub's X-Error-Code otherwise. Hashes come from
// node:crypto, independently of the client's. Every request is logged, with its Authorization header; faults
// (a connection dropped mid-file, corrupted bytes, a Range ignored, a 403) are armed per file for its next downloads.
// For browsers, both answer with CORS headers as the Hub and its storage host do: the Hub reflects the page's
// origin and exposes its own headers, the storage host allows any origin (a redirected request's origin is opaque).
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A repository: its revisions (branch or tag → files of the commit it names) and, when gated, the token it needs. */
export interface FakeRepo {
  readonly revisions: Record<string, Record<string, Uint8Array>>;
  readonly token?: string;
}

/** One request either server received. */
export interface LoggedRequest {
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly range?: string;
  /** The status answered (set as soon as the answer's head is written). */
  readonly status: number;
}

interface Blob {
  readonly bytes: Uint8Array;
  readonly sha1: string;
  readonly sha256: string;
  readonly lfs: boolean;
  /** The git blob id the tree lists: the content's, or the LFS pointer's. */
  readonly oid: string;
}

interface Commit {
  readonly sha: string;
  readonly files: Map<string, Blob>;
}

/** The Hub's "blob <size>\0" git object id. */
export const gitBlobId = (bytes: Uint8Array) => createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function blob(bytes: Uint8Array, lfs: boolean): Blob {
  const hash = sha256(bytes);
  const pointer = new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${hash}\nsize ${bytes.byteLength}\n`);
  return { bytes, sha1: gitBlobId(bytes), sha256: hash, lfs, oid: lfs ? gitBlobId(pointer) : gitBlobId(bytes) };
}

export type Fault = 'drop' | 'corrupt' | 'ignore-range' | 'refuse';

/** The running fake: its two origins, the request log, and faults to arm. */
export interface FakeHub {
  /** The Hub, `http://127.0.0.1:<port>` (what HF_ENDPOINT is set to). */
  readonly endpoint: string;
  /** The storage host LFS downloads redirect to, `http://localhost:<port>`. */
  readonly cdn: string;
  readonly requests: LoggedRequest[];
  /** The commit id a revision of a repository resolves to. */
  commit(repo: string, revision?: string): string;
  /** Arms a fault for the next `times` downloads of `path`'s bytes: `drop` sends `after` bytes then cuts the connection. */
  arm(path: string, fault: Fault, options?: { after?: number; times?: number }): void;
  /** Requests answered with file bytes (GET on resolve/ or the storage host, not redirects), as `server path`. */
  downloads(): string[];
  close(): Promise<void>;
}

/** The response headers the Hub lets a page's scripts read. */
const HUB_EXPOSED_HEADERS =
  'X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag';

/**
 * Adds the CORS headers of `server` to the answer of a request from a page
 * (one with an `Origin`); answers a preflight and returns true for one.
 */
function cors(server: 'hub' | 'cdn', request: IncomingMessage, response: ServerResponse): boolean {
  const { origin } = request.headers;
  if (origin === undefined) return false;
  response.setHeader('Access-Control-Allow-Origin', server === 'hub' ? origin : '*');
  if (server === 'hub') response.setHeader('Vary', 'Origin');
  response.setHeader('Access-Control-Expose-Headers', server === 'hub' ? HUB_EXPOSED_HEADERS : 'Content-Range,Accept-Ranges,ETag');
  const asked = request.headers['access-control-request-method'];
  if (request.method !== 'OPTIONS' || asked === undefined) return false;
  const headers = request.headers['access-control-request-headers'];
  response.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', ...(headers && { 'Access-Control-Allow-Headers': headers }) }).end();
  return true;
}

/** Starts the fake Hub on 127.0.0.1 and its storage host on localhost. `pageSize` cuts tree listings into linked pages. */
export async function startFakeHub(repos: Record<string, FakeRepo>, options: { pageSize?: number } = {}): Promise<FakeHub> {
  const pageSize = options.pageSize ?? 1000;
  const commits = new Map<string, Map<string, Commit>>(); // repo → revision or sha → commit
  const bySha = new Map<string, Blob>();
  for (const [repo, spec] of Object.entries(repos)) {
    const map = new Map<string, Commit>();
    for (const [revision, files] of Object.entries(spec.revisions)) {
      const entries = new Map(Object.entries(files).map(([path, bytes]) => [path, blob(bytes, path.endsWith('.safetensors'))]));
      const sha = createHash('sha1')
        .update(`${repo}\0${revision}\0${[...entries].map(([p, b]) => `${p}:${b.sha1}`).join(',')}`)
        .digest('hex');
      const commit = { sha, files: entries };
      map.set(revision, commit);
      map.set(sha, commit);
      for (const b of entries.values()) if (b.lfs) bySha.set(b.sha256, b);
    }
    commits.set(repo, map);
  }
  const requests: LoggedRequest[] = [];
  const faults = new Map<string, { fault: Fault; after: number; times: number }>(); // keyed by the file's SHA-256
  let endpoint = '';
  let cdn = '';

  function log(server: 'hub' | 'cdn', request: IncomingMessage, response: ServerResponse, path: string): void {
    const { method = '', headers } = request;
    requests.push({
      server,
      method,
      path,
      authorization: headers.authorization,
      range: headers.range,
      get status() {
        return response.statusCode;
      },
    });
  }

  /** Sends a file's bytes with Range support and any armed fault. */
  function sendBytes(request: IncomingMessage, response: ServerResponse, file: Blob, headers: Record<string, string>): void {
    const armed = request.method === 'GET' ? faults.get(file.sha256) : undefined;
    if (armed && --armed.times === 0) faults.delete(file.sha256);
    if (armed?.fault === 'refuse') return void response.writeHead(403).end();
    const size = file.bytes.byteLength;
    const match = armed?.fault === 'ignore-range' ? null : /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (match) {
      start = Number(match[1]);
      end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
      if (start >= size) return void response.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    }
    const body = file.bytes.slice(start, end + 1);
    const head = { ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(body.byteLength), 'Content-Type': 'application/octet-stream' };
    response.writeHead(match ? 206 : 200, match ? { ...head, 'Content-Range': `bytes ${start}-${end}/${size}` } : head);
    if (request.method === 'HEAD') return void response.end();
    if (armed?.fault === 'corrupt') body[Math.floor(body.byteLength / 2)] ^= 0xff;
    if (armed?.fault === 'drop') {
      response.write(body.subarray(0, armed.after), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  }

  function refuse(response: ServerResponse, status: number, code: string): void {
    response.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code }).end(JSON.stringify({ error: code }));
  }

  function hub(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', endpoint);
    log('hub', request, response, url.pathname + url.search);
    if (cors('hub', request, response)) return;
    const api = /^\/api\/models\/([^/]+\/[^/]+)(?:\/(revision|tree)\/([^/]+)(?:\/(.*))?)?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = api?.[1] ?? resolve?.[1];
    const spec = repo === undefined ? undefined : repos[repo];
    if (!spec) return void refuse(response, 404, 'RepoNotFound');
    if (spec.token !== undefined && request.headers.authorization !== `Bearer ${spec.token}`) return void refuse(response, 401, 'GatedRepo');
    const revision = decodeURIComponent((api ? api[3] : resolve?.[2]) ?? 'main');
    const commit = commits.get(repo!)!.get(revision);
    if (!commit) return void refuse(response, 404, 'RevisionNotFound');
    if (api && api[2] !== 'tree') {
      const info = {
        id: repo,
        modelId: repo,
        sha: commit.sha,
        private: false,
        gated: spec.token ? 'manual' : false,
        siblings: [...commit.files.keys()].map((rfilename) => ({ rfilename })),
      };
      return void response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(info));
    }
    if (api) return void tree(url, response, commit, api[4] ?? '');
    const path = decodeURIComponent(resolve![3]);
    const file = commit.files.get(path);
    if (!file) return void refuse(response, 404, 'EntryNotFound');
    if (!file.lfs) return void sendBytes(request, response, file, { ETag: `"${file.sha1}"`, 'X-Repo-Commit': commit.sha });
    response
      .writeHead(302, {
        Location: `${cdn}/repos/${file.sha256.slice(0, 2)}/${file.sha256}?X-Signature=fake`,
        'X-Linked-Etag': `"${file.sha256}"`,
        'X-Linked-Size': String(file.bytes.byteLength),
        'X-Repo-Commit': commit.sha,
        'Content-Length': '0',
      })
      .end();
  }

  function tree(url: URL, response: ServerResponse, commit: Commit, under: string): void {
    const recursive = url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === '1';
    const expand = url.searchParams.get('expand') === 'true' || url.searchParams.get('expand') === '1';
    const prefix = under === '' ? '' : `${decodeURIComponent(under).replace(/\/$/, '')}/`;
    const entries = new Map<string, Record<string, unknown>>();
    for (const [path, file] of commit.files) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length).split('/');
      // Folders on the way to a file are listed too, as the Hub does.
      for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth++) {
        const dir = prefix + rest.slice(0, depth).join('/');
        entries.set(dir, { type: 'directory', oid: gitBlobId(new TextEncoder().encode(dir)), size: 0, path: dir });
      }
      if (!recursive && rest.length > 1) continue;
      entries.set(path, {
        type: 'file',
        oid: file.oid,
        size: file.bytes.byteLength,
        path,
        ...(file.lfs && { lfs: { oid: file.sha256, size: file.bytes.byteLength, pointerSize: 134 } }),
        ...(expand && { lastCommit: { id: commit.sha, title: 'upload', date: '2025-01-01T00:00:00.000Z' } }),
      });
    }
    const all = [...entries.values()];
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = all.slice(start, start + pageSize);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (start + pageSize < all.length) {
      const next = new URL(url);
      next.searchParams.set('cursor', String(start + pageSize));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    response.writeHead(200, headers).end(JSON.stringify(page));
  }

  function storage(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', cdn);
    log('cdn', request, response, url.pathname);
    if (cors('cdn', request, response)) return;
    const file = bySha.get(url.pathname.split('/').pop() ?? '');
    if (!file || url.searchParams.get('X-Signature') !== 'fake') return void response.writeHead(403).end();
    sendBytes(request, response, file, { ETag: `"${file.sha256}"` });
  }

  const hubServer = createServer(hub);
  await new Promise<void>((done) => hubServer.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;
  // The storage host answers on every address `localhost` has here, on one port, so clients reach it whichever they try.
  const addresses = [...new Set((await lookup('localhost', { all: true })).map((a) => a.address))];
  const cdnServers: Server[] = [];
  let port = 0;
  for (const address of addresses) {
    const server = createServer(storage);
    await new Promise<void>((done) => server.listen(port, address, done));
    port = (server.address() as AddressInfo).port;
    cdnServers.push(server);
  }
  cdn = `http://localhost:${port}`;

  return {
    endpoint,
    cdn,
    requests,
    commit: (repo, revision = 'main') => commits.get(repo)!.get(revision)!.sha,
    arm(path, fault, { after = 0, times = 1 } = {}) {
      for (const map of commits.values())
        for (const commit of map.values()) {
          const file = commit.files.get(path);
          if (file) faults.set(file.sha256, { fault, after, times });
        }
    },
    downloads: () =>
      requests
        .filter((r) => r.method === 'GET' && (r.server === 'cdn' || r.path.includes('/resolve/')) && r.status !== 302)
        .map((r) => `${r.server} ${r.path}`),
    close: async () => {
      for (const s of [hubServer, ...cdnServers]) {
        s.closeAllConnections();
        await new Promise<void>((done) => s.close(() => done()));
      }
    },
  };
}
