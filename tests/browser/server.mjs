// A tiny static server for the browser harness: serves a fixed set of
// in-memory files on 127.0.0.1 only, at a random free port. Pages are
// cross-origin isolated (COOP/COEP), so SharedArrayBuffer and threaded wasm
// work in them.
import { createServer } from 'node:http';
import { extname } from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * Starts serving `files` (URL path → string or bytes).
 * @param {Map<string, string | Uint8Array>} files
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export async function serveFiles(files) {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const body = files.get(path);
    if ((request.method !== 'GET' && request.method !== 'HEAD') || body === undefined) {
      response.writeHead(body === undefined ? 404 : 405, ISOLATION_HEADERS).end();
      return;
    }
    const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
    response.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
