// hubFolder against the fake Hub (fake-hub.ts) with Python's cache layout on
// disk: the fixtures load from it with the values PyTorch recorded, each file
// is downloaded once and only when opened, the cache is laid out as
// huggingface_hub lays it out (checked with node:crypto's hashes), offline
// mode reads only the cache, tokens go to the Hub and never to the storage
// host, and every failure has its typed error.
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HubProgress, type LoraFuseError, loadAdapter, openModelFolder, readFile as readFolderFile } from '@lorafuse/core';
import { hubCacheDir, hubFolder, nodeHubCache } from '@lorafuse/core/node';
import { asyncCodeOf } from '../error-code.js';
import { expectTensorMatches, record, type ModelRecord } from '../fixtures/index.js';
import { type FakeHub, gitBlobId, sha256, startFakeHub } from './fake-hub.js';
import { fixtureFiles, fixtureRepos, TOKEN } from './repos.js';

let hub: FakeHub;
let cacheDir: string;
const online = (extra: Record<string, unknown> = {}) => ({ endpoint: hub.endpoint, cache: nodeHubCache(cacheDir), token: '', offline: false, ...extra });

beforeAll(async () => {
  hub = await startFakeHub(fixtureRepos(), { pageSize: 2 });
});
afterAll(() => hub.close());
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'lorafuse-hub-'));
  hub.requests.length = 0;
});

describe('hubFolder', () => {
  it('loads a model and an adapter with the values PyTorch recorded', async () => {
    const model = await openModelFolder(await hubFolder('org/llama', online()));
    const rec = record<ModelRecord>('llama-tiny');
    for (const [tensor, expected] of Object.entries(rec.tensors)) expectTensorMatches(await model.weights.read(tensor), expected, tensor);
    const adapter = await loadAdapter(await hubFolder('org/lora', online()));
    for (const m of record('lora-qv-r8').modules) {
      const mine = adapter.modules.find((x) => x.name === m.name)!;
      expectTensorMatches(mine.a, m.a, `${m.name} A`);
      expectTensorMatches(mine.b, m.b, `${m.name} B`);
    }
  });

  it("downloads only what is opened, once, into Python's layout", async () => {
    const folder = await hubFolder('org/llama', online());
    const commit = hub.commit('org/llama');
    expect(folder.commit).toBe(commit);
    // The listing came in pages of two (the Link header) and names every file, nested ones included.
    expect(folder.files?.map((f) => f.path).sort()).toEqual(['.gitattributes', 'README.md', 'config.json', 'docs/notes.txt', 'model.safetensors']);
    expect(hub.requests.filter((r) => r.path.includes('/tree/')).length).toBeGreaterThan(2);
    expect(await folder.exists('docs/notes.txt')).toBe(true);
    expect(await folder.exists('tokenizer.json')).toBe(false);
    await openModelFolder(folder);
    await openModelFolder(folder);
    const files = fixtureFiles('llama-tiny');
    expect(hub.downloads().sort()).toEqual([
      `cdn /repos/${sha256(files['model.safetensors']).slice(0, 2)}/${sha256(files['model.safetensors'])}`,
      `hub /org/llama/resolve/${commit}/config.json`,
    ]);

    const repo = join(cacheDir, 'models--org--llama');
    expect(await readFile(join(repo, 'refs', 'main'), 'utf8')).toBe(commit); // no newline, as Python writes it
    const expectLink = async (path: string, etag: string) => {
      const at = join(repo, 'snapshots', commit, path);
      expect((await lstat(at)).isSymbolicLink(), path).toBe(true);
      expect(await readlink(at)).toBe(`../../blobs/${etag}`);
      expect(new Uint8Array(await readFile(join(repo, 'blobs', etag)))).toEqual(files[path]);
    };
    await expectLink('config.json', gitBlobId(files['config.json']));
    await expectLink('model.safetensors', sha256(files['model.safetensors']));
    expect(await folder.cachedFiles()).toEqual(['config.json', 'model.safetensors']);

    // A new folder on the same cache lists the repository again but downloads nothing.
    hub.requests.length = 0;
    await openModelFolder(await hubFolder('org/llama', online()));
    expect(hub.downloads()).toEqual([]);
  });

  it('links a nested file with a relative path two levels deeper', async () => {
    const folder = await hubFolder('org/llama', online());
    expect(new TextDecoder().decode(await readFolderFile(folder, 'docs/notes.txt'))).toBe('not read by any loader\n');
    expect(await readlink(join(cacheDir, 'models--org--llama', 'snapshots', folder.commit, 'docs', 'notes.txt'))).toMatch(
      /^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/,
    );
  });

  it('resolves tags to their own commit and ref, and commits without asking for the revision', async () => {
    const v1 = await hubFolder('org/llama', online({ revision: 'v1' }));
    expect(v1.commit).toBe(hub.commit('org/llama', 'v1'));
    expect((await openModelFolder(v1)).config.qkvBias).toBe(true); // the qwen2 fixture
    expect(await readFile(join(cacheDir, 'models--org--llama', 'refs', 'v1'), 'utf8')).toBe(v1.commit);
    hub.requests.length = 0;
    const pinned = await hubFolder('org/llama', online({ revision: v1.commit }));
    expect(pinned.commit).toBe(v1.commit);
    expect(hub.requests.some((r) => r.path.includes('/revision/'))).toBe(false);
  });

  it('reports progress per file in bytes, then the cached files', async () => {
    const events: HubProgress[] = [];
    const folder = await hubFolder('org/llama', online({ onProgress: (p: HubProgress) => events.push(p) }));
    await folder.open('model.safetensors');
    const size = fixtureFiles('llama-tiny')['model.safetensors'].byteLength;
    const bytes = events.filter((e) => e.path === 'model.safetensors');
    expect(bytes[0]).toEqual({ repo: 'org/llama', path: 'model.safetensors', loaded: 0, total: size, cached: false });
    expect(bytes.at(-1)).toEqual({ repo: 'org/llama', path: 'model.safetensors', loaded: size, total: size, cached: false });
    expect(bytes.every((e, i) => i === 0 || e.loaded >= bytes[i - 1].loaded)).toBe(true);
    events.length = 0;
    await folder.open('model.safetensors');
    expect(events).toEqual([{ repo: 'org/llama', path: 'model.safetensors', loaded: size, total: size, cached: true }]);
  });

  it('works offline from the cache alone, and says what is missing', async () => {
    await openModelFolder(await hubFolder('org/llama', online()));
    hub.requests.length = 0;
    const offline = await hubFolder('org/llama', online({ offline: true }));
    expect(offline.offline).toBe(true);
    expect(offline.files).toBeUndefined(); // no listing kept: the folder is what the snapshot holds
    const model = await openModelFolder(offline);
    expect(model.config.hiddenSize).toBe(32);
    expect(await offline.exists('README.md')).toBe(false);
    expect(await asyncCodeOf(() => offline.open('README.md'))).toBe('HUB_NOT_CACHED');
    expect(await asyncCodeOf(() => hubFolder('org/lora', online({ offline: true })))).toBe('HUB_NOT_CACHED');
    expect(await asyncCodeOf(() => hubFolder('org/llama', online({ offline: true, revision: 'v1' })))).toBe('HUB_NOT_CACHED');
    expect(hub.requests).toEqual([]);
  });

  it("reads Python's listing of a commit (trees/<commit>.json) instead of asking for it, online and offline", async () => {
    const first = await hubFolder('org/llama', online());
    await first.open('config.json');
    const files = Object.fromEntries(
      first.files!.map((f) => [
        f.path,
        f.etag.length === 64 ? { size: f.size, blob_id: 'f'.repeat(40), lfs_sha256: f.etag, lfs_size: f.size } : { size: f.size, blob_id: f.etag },
      ]),
    );
    await mkdir(join(cacheDir, 'models--org--llama', 'trees'), { recursive: true });
    await writeFile(join(cacheDir, 'models--org--llama', 'trees', `${first.commit}.json`), JSON.stringify({ format_version: 1, files }));
    hub.requests.length = 0;
    const again = await hubFolder('org/llama', online());
    expect(again.files).toEqual(first.files);
    expect(hub.requests.map((r) => r.path)).toEqual(['/api/models/org/llama/revision/main']);
    const offline = await hubFolder('org/llama', online({ offline: true }));
    expect(await offline.exists('README.md')).toBe(true); // listed, though never downloaded
    expect(await asyncCodeOf(() => offline.open('README.md'))).toBe('HUB_NOT_CACHED');
    expect(await asyncCodeOf(() => offline.open('tokenizer.json'))).toBe('FILE_NOT_FOUND');
  });

  it('falls back to the cache when the Hub cannot be reached', async () => {
    await openModelFolder(await hubFolder('org/llama', online()));
    const down = await hubFolder('org/llama', online({ endpoint: 'http://127.0.0.1:1' }));
    expect(down.offline).toBe(true);
    expect((await openModelFolder(down)).config.hiddenSize).toBe(32);
    expect(await asyncCodeOf(() => hubFolder('org/lora', online({ endpoint: 'http://127.0.0.1:1' })))).toBe('NETWORK_ERROR');
  });

  it('sends the token to the Hub only, never to the storage host, and never quotes it', async () => {
    const refused = (await hubFolder('org/gated', online()).catch((e: unknown) => e)) as LoraFuseError;
    expect(refused.code).toBe('HUB_AUTH_REQUIRED');
    expect(refused.message).toContain('HF_TOKEN');
    const wrong = (await hubFolder('org/gated', online({ token: 'hf_wrongSecretValue' })).catch((e: unknown) => e)) as LoraFuseError;
    expect(wrong.code).toBe('HUB_AUTH_REQUIRED');
    expect(JSON.stringify({ message: wrong.message, details: wrong.details, stack: wrong.stack })).not.toContain('hf_wrongSecretValue');

    hub.requests.length = 0;
    const adapter = await loadAdapter(await hubFolder('org/gated', online({ token: TOKEN })));
    expect(adapter.modules.length).toBe(record('lora-layers').modules.length);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.length).toBe(1); // adapter_model.safetensors, an LFS file
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('types a missing repository, revision and file', async () => {
    const missing = (await hubFolder('org/nothing', online()).catch((e: unknown) => e)) as LoraFuseError;
    expect(missing.code).toBe('HUB_REPO_NOT_FOUND');
    expect(missing.message).toMatch(/^Repository org\/nothing/);
    const revision = (await hubFolder('org/llama', online({ revision: 'v9' })).catch((e: unknown) => e)) as LoraFuseError;
    expect([revision.code, revision.message.startsWith('Revision "v9"')]).toEqual(['HUB_REPO_NOT_FOUND', true]);
    const folder = await hubFolder('org/llama', online());
    expect(await asyncCodeOf(() => folder.open('tokenizer.json'))).toBe('FILE_NOT_FOUND');
    expect(await asyncCodeOf(() => folder.open('../refs/main'))).toBe('PATH_ESCAPE');
    expect(await asyncCodeOf(() => hubFolder('org/../x', online()))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => hubFolder('org/llama', online({ revision: '../../etc' })))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => hubFolder('org/llama', online({ signal: AbortSignal.abort() })))).toBe('ABORTED');
  });

  it('refuses answers that would write outside the cache or cannot be checked', async () => {
    const sha = 'a'.repeat(40);
    const answering = (tree: unknown[], info: unknown = { sha }) =>
      (async (url: string | URL | Request) =>
        new Response(JSON.stringify(String(url).includes('/tree/') ? tree : info), { headers: { 'Content-Type': 'application/json' } })) as typeof fetch;
    const open = (tree: unknown[], info?: unknown) => hubFolder('org/evil', online({ endpoint: 'http://127.0.0.1:9', fetch: answering(tree, info) }));
    const file = { type: 'file', oid: 'b'.repeat(40), size: 3 };
    expect(await asyncCodeOf(() => open([{ ...file, path: '../../escape' }]))).toBe('PATH_ESCAPE');
    expect(await asyncCodeOf(() => open([{ ...file, path: '/etc/passwd' }]))).toBe('PATH_ESCAPE');
    expect(await asyncCodeOf(() => open([{ ...file, path: 'x', oid: '../blob' }]))).toBe('HTTP_ERROR');
    expect(await asyncCodeOf(() => open([{ ...file, path: 'x', lfs: { oid: 'not-a-sha256', size: 3 } }]))).toBe('HTTP_ERROR');
    expect(await asyncCodeOf(() => open([{ ...file, path: 'x', size: -1 }]))).toBe('HTTP_ERROR');
    expect(await asyncCodeOf(() => open([], { sha: '../../x' }))).toBe('HTTP_ERROR');
    expect(await asyncCodeOf(() => open([], { id: 'org/evil' }))).toBe('HTTP_ERROR');
    expect((await open([{ ...file, path: 'ok.txt' }])).files).toEqual([{ path: 'ok.txt', size: 3, etag: 'b'.repeat(40) }]);
  });

  it('takes its defaults from the environment as Python does', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cacheDir, HF_TOKEN: TOKEN });
      delete process.env.HF_HUB_OFFLINE;
      expect(hubCacheDir()).toBe(cacheDir);
      await loadAdapter(await hubFolder('org/gated'));
      process.env.HF_HUB_OFFLINE = '1';
      hub.requests.length = 0;
      expect((await loadAdapter(await hubFolder('org/gated'))).modules.length).toBeGreaterThan(0);
      expect(hub.requests).toEqual([]);
      expect(await asyncCodeOf(() => hubFolder('org/lora'))).toBe('HUB_NOT_CACHED');
      expect(hubCacheDir({ HF_HOME: '/x/hf' })).toBe('/x/hf/hub');
      expect(hubCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/huggingface/hub');
    } finally {
      process.env = saved;
    }
  });
});

afterAll(() => rm(cacheDir, { recursive: true, force: true }));
