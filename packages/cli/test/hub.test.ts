// `org/name[@revision]` wherever the command line takes a model or adapter
// folder, against the fake Hub of packages/core/test/hub: a full `lorafuse
// adapt` from three repositories (one gated) downloads each file it reads
// once and gives the same adapter, byte for byte, as the run on the same files
// on disk; the same run with HF_HUB_OFFLINE=1 asks nothing of the Hub; stdout
// holds only the JSON while downloads show on stderr; the token never reaches
// the storage host; a folder that exists locally wins over a Hub id.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { type FakeHub, sha256, startFakeHub } from '../../core/test/hub/fake-hub.js';
import { fixtureFiles, TOKEN } from '../../core/test/hub/repos.js';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-cli-hub-'));
const modelDir = await writeByteModel(join(dir, 'model'));
const model: Record<string, Uint8Array> = {};
for (const f of ['config.json', 'model.safetensors']) model[f] = new Uint8Array(await readFile(join(modelDir, f)));
const readme = new TextEncoder().encode('# a model card nobody reads\n');
const data = join(dir, 'train.jsonl');
await writeFile(
  data,
  ['ls lists files', 'cp copies files', 'rm removes files', 'mv moves files'].map((s) => JSON.stringify({ source: s, summary: s.split(' ')[0] })).join('\n') +
    '\n',
);
const RUN = ['--train', data, '--epochs', '1', '--batch-size', '2', '--accumulation', '1', '--lr', '5e-3', '--seed', '3', '--backend', 'reference', '--json'];

let hub: FakeHub;
const saved = { ...process.env };
beforeAll(async () => {
  hub = await startFakeHub({
    'org/model': { revisions: { main: { ...model, 'README.md': readme } } },
    'org/a': { revisions: { main: fixtureFiles('lora-qv-r8') } },
    'org/b': { revisions: { main: fixtureFiles('lora-default-keys') }, token: TOKEN },
  });
  Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(dir, 'hf-cache'), HF_TOKEN: TOKEN, HF_HUB_OFFLINE: '0' });
});
afterEach(() => {
  process.env.HF_HUB_OFFLINE = '0';
  process.env.HF_TOKEN = TOKEN;
});
afterAll(async () => {
  process.env = saved;
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

const adapterBytes = (out: string) => readFile(join(out, 'adapter_model.safetensors'));

describe('Hub ids on the command line', () => {
  it("adapt downloads each file once, gives the local run's adapter, and runs again offline", async () => {
    const local = await cli(
      'adapt',
      '--model',
      modelDir,
      '--target',
      join(FIXTURES, 'lora-qv-r8'),
      '--related',
      join(FIXTURES, 'lora-default-keys'),
      ...RUN,
      '--out',
      join(dir, 'local'),
    );
    expect(local.err + local.out, `exit ${local.code}`).not.toMatch(/lorafuse:/);

    hub.requests.length = 0;
    const online = await cli('adapt', '--model', 'org/model', '--target', 'org/a', '--related', 'org/b', ...RUN, '--out', join(dir, 'online'));
    expect(online.code, online.err).toBe(0);
    expect(JSON.parse(online.out).steps).toBeGreaterThan(0); // stdout is the JSON summary alone
    expect(online.err).toMatch(/org\/model model\.safetensors: [\d.]+ kB\/[\d.]+ kB in/);
    expect(await adapterBytes(join(dir, 'online'))).toEqual(await adapterBytes(join(dir, 'local')));
    const commit = hub.commit('org/model');
    const downloads = hub.downloads();
    expect(downloads.filter((d) => d.startsWith('hub')).sort()).toEqual(
      [
        `hub /org/a/resolve/${hub.commit('org/a')}/adapter_config.json`,
        `hub /org/b/resolve/${hub.commit('org/b')}/adapter_config.json`,
        `hub /org/model/resolve/${commit}/config.json`,
      ].sort(),
    );
    expect(downloads.filter((d) => d.startsWith('cdn'))).toHaveLength(3); // the three safetensors files, each once
    expect(hub.requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined)).toBe(true);
    const provenance = JSON.parse(await readFile(join(dir, 'online', 'lorafuse.json'), 'utf8')) as { inputs: { role: string; path: string; sha256: string }[] };
    expect(provenance.inputs.filter((i) => i.role === 'model')).toEqual([
      { role: 'model', path: `org/model@${commit}/config.json`, sha256: sha256(model['config.json']) },
      { role: 'model', path: `org/model@${commit}/model.safetensors`, sha256: sha256(model['model.safetensors']) },
    ]);

    hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    const offline = await cli('adapt', '--model', 'org/model', '--target', 'org/a', '--related', 'org/b', ...RUN, '--out', join(dir, 'offline'));
    expect(offline.code, offline.err).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(await adapterBytes(join(dir, 'offline'))).toEqual(await adapterBytes(join(dir, 'local')));
  });

  it('info reads a Hub id, a revision pinned by commit, and a local folder of that name first', async () => {
    const info = await cli('info', `org/a@${hub.commit('org/a')}`, '--json');
    expect(info.code, info.err).toBe(0);
    expect(JSON.parse(info.out)).toMatchObject({ kind: 'adapter', r: 8 });
    const home = process.cwd();
    try {
      process.chdir(dir);
      await mkdir('org', { recursive: true });
      await cp(join(FIXTURES, 'lora-rslora'), 'org/a', { recursive: true });
      hub.requests.length = 0;
      expect(JSON.parse((await cli('info', 'org/a', '--json')).out)).toMatchObject({ kind: 'adapter', r: 16 });
      expect(hub.requests).toEqual([]);
    } finally {
      process.chdir(home);
    }
  });

  it('fails with one line naming what to fix', async () => {
    const missing = await cli('info', 'org/missing');
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/^lorafuse: Repository org\/missing was not found .*\[HUB_REPO_NOT_FOUND\]\n$/)]);
    process.env.HF_TOKEN = '';
    const gated = await cli('info', 'org/b');
    expect(gated.err).toMatch(/Set HF_TOKEN .*\[HUB_AUTH_REQUIRED\]\n$/);
    process.env.HF_HUB_OFFLINE = '1';
    const uncached = await cli('eval', '--model', 'org/model@v2', '--data', data);
    expect(uncached.err).toMatch(/\[HUB_NOT_CACHED\]\n$/);
    const notAPath = await cli('info', 'no/such/folder');
    expect(notAPath.err).toMatch(/\[FILE_NOT_FOUND\]\n$/);
  });
});
