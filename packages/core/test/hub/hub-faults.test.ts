// Downloads that go wrong, against the fake Hub's armed faults: a connection
// cut mid-file resumes with Range from the bytes received; a download
// cancelled in one run resumes in the next (and a partial file Python left
// is resumed the same way); bytes that do not match their etag are thrown
// away and fetched again; a server that ignores Range is read from the
// start; corrupt cached blobs are found by size, or by hash with verify 'all'.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoraFuseError, readFile as readFolderFile } from '@lorafuse/core';
import { hubFolder, nodeHubCache } from '@lorafuse/core/node';
import { asyncCodeOf } from '../error-code.js';
import { type FakeHub, sha256, startFakeHub } from './fake-hub.js';
import { bigFile, fixtureFiles, fixtureRepos } from './repos.js';

let hub: FakeHub;
let cacheDir: string;
const big = bigFile();
const bigEtag = sha256(big);
const online = (extra: Record<string, unknown> = {}) => ({ endpoint: hub.endpoint, cache: nodeHubCache(cacheDir), token: '', offline: false, ...extra });
const blobPath = (etag: string, repo = 'big') => join(cacheDir, `models--org--${repo}`, 'blobs', etag);
const cdnGets = () => hub.requests.filter((r) => r.server === 'cdn' && r.method === 'GET');
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  hub = await startFakeHub(fixtureRepos());
});
afterAll(() => hub.close());
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'lorafuse-hub-faults-'));
  hub.requests.length = 0;
});

describe('hub downloads', () => {
  it('resume a connection cut mid-file from the bytes received', async () => {
    hub.arm('big.safetensors', 'drop', { after: 1_000_000 });
    const folder = await hubFolder('org/big', online());
    expect(digest(await readFolderFile(folder, 'big.safetensors'))).toBe(bigEtag);
    const [first, second, ...rest] = cdnGets();
    expect(rest).toEqual([]);
    expect(first.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(second.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
    expect(second.status).toBe(206);
  });

  it('resume in a later run what a cancelled one left, and what Python left', async () => {
    const controller = new AbortController();
    const folder = await hubFolder('org/big', online({ signal: controller.signal, onProgress: (p: { loaded: number }) => p.loaded > 0 && controller.abort() }));
    expect(await asyncCodeOf(() => folder.open('big.safetensors'))).toBe('ABORTED');
    const kept = (await stat(`${blobPath(bigEtag)}.incomplete`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(big.byteLength);
    hub.requests.length = 0;
    expect(digest(await readFolderFile(await hubFolder('org/big', online()), 'big.safetensors'))).toBe(bigEtag);
    expect(cdnGets().map((r) => r.range)).toEqual([`bytes=${kept}-`]);

    // huggingface_hub names its partial downloads the same way: a fresh cache holding only Python's partial file.
    await rm(cacheDir, { recursive: true });
    await mkdir(join(cacheDir, 'models--org--big', 'blobs'), { recursive: true });
    await writeFile(`${blobPath(bigEtag)}.incomplete`, big.subarray(0, 123_457));
    hub.requests.length = 0;
    expect(digest(await readFolderFile(await hubFolder('org/big', online()), 'big.safetensors'))).toBe(bigEtag);
    expect(cdnGets().map((r) => r.range)).toEqual(['bytes=123457-']);
  });

  it('fetch again bytes that do not match the etag, and give up the second time', async () => {
    hub.arm('big.safetensors', 'corrupt');
    expect(digest(await readFolderFile(await hubFolder('org/big', online()), 'big.safetensors'))).toBe(bigEtag);
    expect(cdnGets().map((r) => r.range)).toEqual([undefined, undefined]);

    await rm(cacheDir, { recursive: true });
    hub.arm('big.safetensors', 'corrupt', { times: 2 });
    const folder = await hubFolder('org/big', online());
    expect(await asyncCodeOf(() => folder.open('big.safetensors'))).toBe('HUB_INTEGRITY');
    expect(await asyncCodeOf(() => stat(blobPath(bigEtag)))).toMatch(/ENOENT/);
    expect((await stat(`${blobPath(bigEtag)}.incomplete`)).size).toBe(0); // thrown away, not resumed
  });

  it('start over when a resumed partial file is corrupt', async () => {
    await mkdir(join(cacheDir, 'models--org--big', 'blobs'), { recursive: true });
    const wrong = big.slice(0, 50_000);
    wrong[10] ^= 1;
    await writeFile(`${blobPath(bigEtag)}.incomplete`, wrong);
    expect(digest(await readFolderFile(await hubFolder('org/big', online()), 'big.safetensors'))).toBe(bigEtag);
    expect(cdnGets().map((r) => r.range)).toEqual(['bytes=50000-', undefined]);
  });

  it('read from the start a server that ignores Range', async () => {
    await mkdir(join(cacheDir, 'models--org--big', 'blobs'), { recursive: true });
    await writeFile(`${blobPath(bigEtag)}.incomplete`, big.subarray(0, 70_000));
    hub.arm('big.safetensors', 'ignore-range');
    expect(digest(await readFolderFile(await hubFolder('org/big', online()), 'big.safetensors'))).toBe(bigEtag);
    expect(cdnGets().map((r) => [r.range, r.status])).toEqual([['bytes=70000-', 200]]);
  });

  it('fetch again a cached blob of the wrong size, and with verify "all" one of the wrong bytes', async () => {
    const files = fixtureFiles('llama-tiny');
    const etag = sha256(files['model.safetensors']);
    await readFolderFile(await hubFolder('org/llama', online()), 'model.safetensors');
    await truncate(blobPath(etag, 'llama'), 100);
    hub.requests.length = 0;
    expect(digest(await readFolderFile(await hubFolder('org/llama', online()), 'model.safetensors'))).toBe(etag);
    expect(cdnGets()).toHaveLength(1);

    const flipped = new Uint8Array(await readFile(blobPath(etag, 'llama')));
    flipped[500] ^= 0xff;
    await writeFile(blobPath(etag, 'llama'), flipped);
    hub.requests.length = 0;
    // Checked by size only by default: served as it is, without a request for its bytes.
    expect(digest(await readFolderFile(await hubFolder('org/llama', online()), 'model.safetensors'))).toBe(digest(flipped));
    expect(cdnGets()).toHaveLength(0);
    // Offline with verify "all": found corrupt, and nothing to fetch it from.
    const offline = await hubFolder('org/llama', online({ offline: true, verify: 'all' }));
    expect(await asyncCodeOf(() => offline.open('model.safetensors'))).toBe('HUB_INTEGRITY');
    // Online with verify "all": hashed, found corrupt, fetched again.
    expect(digest(await readFolderFile(await hubFolder('org/llama', online({ verify: 'all' })), 'model.safetensors'))).toBe(etag);
    expect(cdnGets()).toHaveLength(1);
    expect(digest(new Uint8Array(await readFile(blobPath(etag, 'llama'))))).toBe(etag);
  });

  it('store an empty file, which has no bytes to fetch', async () => {
    const folder = await hubFolder('org/big', online());
    expect((await readFolderFile(folder, 'empty.txt')).byteLength).toBe(0);
    expect((await stat(blobPath('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'))).size).toBe(0); // git's empty blob
    expect(await folder.cachedFiles()).toEqual(['empty.txt']);
  });

  it('type a refusal of the storage host as an HTTP error, not as a token problem', async () => {
    hub.arm('big.safetensors', 'refuse');
    const folder = await hubFolder('org/big', online());
    const refused = (await folder.open('big.safetensors').catch((e: unknown) => e)) as LoraFuseError;
    expect([refused.code, refused.details.status]).toEqual(['HTTP_ERROR', 403]);
  });

  it('share one download between concurrent opens of the same file', async () => {
    const folder = await hubFolder('org/big', online());
    const [a, b] = await Promise.all([readFolderFile(folder, 'big.safetensors'), readFolderFile(folder, 'big.safetensors')]);
    expect([digest(a), digest(b)]).toEqual([bigEtag, bigEtag]);
    expect(cdnGets()).toHaveLength(1);
  });
});

afterAll(() => rm(cacheDir, { recursive: true, force: true }));
