// The browser cache of Hub downloads (the Cache API) on an in-memory Cache
// that behaves as the browser's does for match/put/delete/keys: a second
// visit downloads nothing, offline mode reads it alone, and a download cut
// off on one visit resumes on the next from the pieces stored. What a real
// browser adds (quota, persistence across reloads, Response bodies backed by
// disk) is not exercised here.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cacheStorageHubCache, hubFolder, loadAdapter, readFile, type CacheLike } from '@lorafuse/core';
import { asyncCodeOf } from '../error-code.js';
import { type FakeHub, sha256, startFakeHub } from './fake-hub.js';
import { bigFile, fixtureRepos } from './repos.js';

/** A Cache keyed by URL, holding each Response's bytes as a Blob, as the browser's keeps them. */
function memoryCache(): CacheLike & { urls(): string[] } {
  const entries = new Map<string, Blob>();
  const url = (request: RequestInfo | URL) => (typeof request === 'string' ? new URL(request).href : request instanceof URL ? request.href : request.url);
  return {
    async match(request) {
      const blob = entries.get(url(request));
      return blob && new Response(blob);
    },
    async put(request, response) {
      entries.set(url(request), await response.blob());
    },
    async delete(request) {
      return entries.delete(url(request as RequestInfo));
    },
    async keys() {
      return [...entries.keys()].map((u) => new Request(u));
    },
    urls: () => [...entries.keys()],
  } as CacheLike & { urls(): string[] };
}

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub(fixtureRepos());
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.requests.length = 0;
});
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const fileGets = () => hub.requests.filter((r) => r.method === 'GET' && (r.server === 'cdn' || r.path.includes('/resolve/')) && r.status !== 302);

describe('cacheStorageHubCache', () => {
  it('keeps downloads for the next visit and for offline use', async () => {
    const store = memoryCache();
    const adapter = await loadAdapter(await hubFolder('org/lora', { endpoint: hub.endpoint, cache: cacheStorageHubCache(store) }));
    expect(fileGets()).toHaveLength(2);
    hub.requests.length = 0;
    // A reload: a new cache object over the same stored entries.
    const again = await loadAdapter(await hubFolder('org/lora', { endpoint: hub.endpoint, cache: cacheStorageHubCache(store) }));
    expect(fileGets()).toEqual([]);
    expect(again.modules.map((m) => [...m.a.toFloat32()])).toEqual(adapter.modules.map((m) => [...m.a.toFloat32()]));
    hub.requests.length = 0;
    const offline = await hubFolder('org/lora', { endpoint: hub.endpoint, cache: cacheStorageHubCache(store), offline: true });
    expect(await offline.cachedFiles()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    await loadAdapter(offline);
    expect(hub.requests).toEqual([]);
    expect(await asyncCodeOf(() => hubFolder('org/llama', { cache: cacheStorageHubCache(store), offline: true }))).toBe('HUB_NOT_CACHED');
    expect(store.urls().every((u) => u.startsWith('https://lorafuse.invalid/hub/models--org--lora/'))).toBe(true);
  });

  it('resumes on the next visit a download cut off on this one', async () => {
    const store = memoryCache();
    const controller = new AbortController();
    const folder = await hubFolder('org/big', {
      endpoint: hub.endpoint,
      cache: cacheStorageHubCache(store),
      signal: controller.signal,
      onProgress: (p) => p.loaded >= 1 << 20 && controller.abort(),
    });
    expect(await asyncCodeOf(() => folder.open('big.safetensors'))).toBe('ABORTED');
    const pieces = store.urls().filter((u) => u.includes('/partial/'));
    expect(pieces).toHaveLength(1);
    hub.requests.length = 0;
    const big = await readFile(await hubFolder('org/big', { endpoint: hub.endpoint, cache: cacheStorageHubCache(store) }), 'big.safetensors');
    expect(digest(big)).toBe(sha256(bigFile()));
    const resumed = Number(/^bytes=(\d+)-$/.exec(fileGets()[0].range ?? '')?.[1]);
    expect(resumed).toBeGreaterThanOrEqual(1 << 20);
    expect(store.urls().filter((u) => u.includes('/partial/'))).toEqual([]);
  });

  it('asks for a cache where there is no Cache API', async () => {
    expect(await asyncCodeOf(() => hubFolder('org/lora', { endpoint: hub.endpoint }))).toBe('INVALID_OPTION');
  });
});
