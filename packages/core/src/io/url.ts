import { LoraFuseError, isLoraFuseError, throwIfAborted } from '../errors/index.js';
import { fileNotFound, safeRelativePath, type Folder } from './folder.js';
import { bytesSource, checkRange, type ByteSource } from './source.js';

/** Options of {@link urlSource} and {@link urlFolder}. */
export interface UrlOptions {
  /** The `fetch` to use (default the global one): add headers or credentials by wrapping it. */
  readonly fetch?: typeof fetch;
  /** Cancels the size probe (each read takes its own signal). */
  readonly signal?: AbortSignal;
}

/** `fetch` with its failures typed: `ABORTED` when `signal` fired, `NETWORK_ERROR` when nothing answered. */
export async function request(fetchFn: typeof fetch, url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
  throwIfAborted(signal);
  try {
    return await fetchFn(url, { ...init, signal });
  } catch (cause) {
    throwIfAborted(signal);
    throw new LoraFuseError(
      'NETWORK_ERROR',
      `Could not fetch ${url}: ${(cause as Error)?.message ?? String(cause)}. Check that the server is up and, for another origin, that it sends CORS headers.`,
      {
        cause,
        details: { url },
      },
    );
  }
}

function httpError(url: string, response: Response): LoraFuseError {
  return new LoraFuseError('HTTP_ERROR', `GET ${url} answered ${response.status} ${response.statusText}`.trimEnd() + '.', {
    details: { url, status: response.status },
  });
}

/** The body as bytes, with `signal` honoured while it streams in. */
export async function responseBytes(response: Response, signal: AbortSignal | undefined): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    throwIfAborted(signal);
    throw new LoraFuseError('NETWORK_ERROR', `The download of ${response.url || 'a URL'} broke off: ${(cause as Error)?.message ?? String(cause)}.`, { cause });
  }
}

/**
 * A {@link ByteSource} over a URL. A `HEAD` request learns the size; when
 * the server advertises `Accept-Ranges: bytes`, each read fetches only its
 * range (a multi-gigabyte checkpoint is never downloaded whole just to read
 * its header), otherwise the whole file is downloaded here and
 * served from memory. Throws `HTTP_ERROR` (with `details.status`; 404
 * is `FILE_NOT_FOUND`), `NETWORK_ERROR`, or `ABORTED`.
 */
export async function urlSource(url: string | URL, options: UrlOptions = {}): Promise<ByteSource> {
  const href = String(url);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const head = await request(fetchFn, href, { method: 'HEAD' }, options.signal);
  if (head.status === 404) throw new LoraFuseError('FILE_NOT_FOUND', `${href} does not exist (HTTP 404).`, { details: { url: href, status: 404 } });
  if (!head.ok) throw httpError(href, head);
  const length = head.headers.get('content-length');
  const ranged = head.headers.get('accept-ranges')?.toLowerCase() === 'bytes' && length !== null && !head.headers.get('content-encoding');
  if (!ranged) return downloadedSource(fetchFn, href, options.signal);
  const size = Number(length);
  return {
    name: href,
    size,
    async read(offset, count, signal) {
      checkRange({ name: href, size }, offset, count);
      if (count === 0) return new Uint8Array(0);
      const response = await request(fetchFn, href, { headers: { Range: `bytes=${offset}-${offset + count - 1}` } }, signal);
      if (response.status !== 206) {
        if (!response.ok) throw httpError(href, response);
        throw new LoraFuseError(
          'HTTP_ERROR',
          `${href} advertised byte ranges but answered a range request with ${response.status}; serve it with range support or without Accept-Ranges.`,
          {
            details: { url: href, status: response.status },
          },
        );
      }
      const bytes = await responseBytes(response, signal);
      if (bytes.byteLength !== count) {
        throw new LoraFuseError('HTTP_ERROR', `${href} sent ${bytes.byteLength} bytes for a range of ${count}; the file may have changed on the server.`, {
          details: { url: href, offset, length: count },
        });
      }
      return bytes;
    },
  };
}

/** Downloads the whole file into memory (servers without range support, compressed responses). */
async function downloadedSource(fetchFn: typeof fetch, href: string, signal: AbortSignal | undefined): Promise<ByteSource> {
  const response = await request(fetchFn, href, {}, signal);
  if (!response.ok) throw httpError(href, response);
  return bytesSource(await responseBytes(response, signal), href);
}

/**
 * A read-only {@link Folder} under a base URL (a model or adapter folder on
 * a web server or the Hugging Face Hub's `resolve/main/` path): `open`
 * returns a {@link urlSource}, `exists` asks with `HEAD` (404 is false,
 * other failures throw as in {@link urlSource}). Paths are checked with the
 * same rules as on disk, so a shard list cannot point outside the folder.
 */
export function urlFolder(base: string | URL, options: UrlOptions = {}): Folder {
  const root = String(base).endsWith('/') ? String(base) : `${String(base)}/`;
  const name = root.slice(0, -1);
  const at = (path: string) => new URL(safeRelativePath(path, name).split('/').map(encodeURIComponent).join('/'), root).href;
  return {
    name,
    async open(path) {
      try {
        return await urlSource(at(path), options);
      } catch (cause) {
        if (isLoraFuseError(cause, 'FILE_NOT_FOUND')) throw fileNotFound(path, name);
        throw cause;
      }
    },
    async exists(path) {
      const url = at(path);
      const response = await request(options.fetch ?? globalThis.fetch.bind(globalThis), url, { method: 'HEAD' }, options.signal);
      if (response.status === 404) return false;
      if (!response.ok) throw httpError(url, response);
      return true;
    },
  };
}
