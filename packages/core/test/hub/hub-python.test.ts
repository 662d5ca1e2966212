// The Hub cache shared with Python's huggingface_hub, both ways, against the
// fake Hub: what hubFolder downloaded, snapshot_download(local_files_only=True)
// and hf_hub_download find with the same HF_HUB_CACHE; what snapshot_download
// fetched from the fake Hub (HF_ENDPOINT), hubFolder reads offline, and
// online without downloading a byte again.
//
// Needs the oracle Python (../oracle-python.ts), whose transformers brings
// huggingface_hub. Without one the suite skips with a message; with CI=true
// it fails instead.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdapter, openModelFolder, readFile as readFolderFile } from '@lorafuse/core';
import { hubFolder, nodeHubCache } from '@lorafuse/core/node';
import { oraclePython } from '../oracle-python.js';
import { type FakeHub, sha256, startFakeHub } from './fake-hub.js';
import { fixtureRepos, repoFiles, TOKEN } from './repos.js';

// read: where the snapshots are and the SHA-256 of each file asked for; download: snapshot_download each repository.
const SCRIPT = `
import hashlib, json, os, sys
from huggingface_hub import hf_hub_download, snapshot_download
job = json.loads(sys.argv[1])
out = {}
for repo, revision, files in job["repos"]:
    if job["mode"] == "download":
        snapshot_download(repo, revision=revision)
        continue
    path = snapshot_download(repo, revision=revision, local_files_only=True)
    out[repo] = {"path": path, "sha256": {f: hashlib.sha256(open(os.path.join(path, f), "rb").read()).hexdigest() for f in files},
                 "one": hf_hub_download(repo, files[0], revision=revision, local_files_only=True)}
print(json.dumps(out))
`;

// The oracle Python has huggingface_hub (it comes with transformers); without it the suite skips, and fails under CI=true.
const found = oraclePython();
if (!found.python) console.warn(`hub-python: skipped: ${found.why}`);

let hub: FakeHub;
let cacheDir: string;
beforeAll(async () => {
  hub = await startFakeHub(fixtureRepos());
  cacheDir = await mkdtemp(join(tmpdir(), 'lorafuse-hub-python-'));
});
afterAll(async () => {
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

/** Runs the script; asynchronously, since the fake Hub it talks to answers from this process's event loop. */
async function python(
  mode: 'read' | 'download',
  repos: [string, string, string[]][],
  env: Record<string, string>,
): Promise<Record<string, { path: string; sha256: Record<string, string>; one: string }>> {
  const run = await promisify(execFile)(found.python!, ['-c', SCRIPT, JSON.stringify({ mode, repos })], {
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      ...process.env,
      HF_ENDPOINT: hub.endpoint,
      HF_HUB_CACHE: cacheDir,
      HF_HUB_DISABLE_TELEMETRY: '1',
      HF_HUB_DISABLE_PROGRESS_BARS: '1',
      HF_HUB_DISABLE_XET: '1',
      HF_TOKEN: '',
      HF_HUB_OFFLINE: mode === 'read' ? '1' : '0',
      ...env,
    },
  });
  expect(
    run.stderr.split('\n').filter((l) => /Error|Traceback/.test(l)),
    run.stderr,
  ).toEqual([]);
  return JSON.parse(run.stdout || '{}');
}

describe.runIf(found.python)("the Hub cache shared with Python's huggingface_hub", () => {
  it('has a Python with huggingface_hub', () => {
    expect(found.python, found.why).toBeDefined();
  });

  it('Python finds what LoRAFuse downloaded', async () => {
    const options = { endpoint: hub.endpoint, cache: nodeHubCache(cacheDir), token: TOKEN, offline: false };
    const llama = await hubFolder('org/llama', options);
    await openModelFolder(llama);
    await loadAdapter(await hubFolder('org/gated', options));
    const files = repoFiles('llama-tiny');
    const seen = await python(
      'read',
      [
        ['org/llama', 'main', ['config.json', 'model.safetensors']],
        ['org/gated', 'main', ['adapter_model.safetensors', 'adapter_config.json']],
      ],
      {},
    );
    expect(seen['org/llama'].path).toBe(join(cacheDir, 'models--org--llama', 'snapshots', llama.commit));
    expect(seen['org/llama'].sha256).toEqual({ 'config.json': sha256(files['config.json']), 'model.safetensors': sha256(files['model.safetensors']) });
    expect(seen['org/gated'].sha256['adapter_model.safetensors']).toBe(sha256(repoFiles('lora-layers')['adapter_model.safetensors']));
    expect(seen['org/gated'].one).toBe(join(cacheDir, 'models--org--gated', 'snapshots', hub.commit('org/gated'), 'adapter_model.safetensors'));
  });

  it('LoRAFuse finds what Python downloaded, offline, and online downloads nothing again', async () => {
    await rm(cacheDir, { recursive: true, force: true });
    await python(
      'download',
      [
        ['org/llama', 'main', []],
        ['org/llama', 'v1', []],
        ['org/gated', 'main', []],
      ],
      { HF_TOKEN: TOKEN },
    );
    hub.requests.length = 0;
    const offline = { cache: nodeHubCache(cacheDir), offline: true };
    for (const [revision, fixture] of [
      ['main', 'llama-tiny'],
      ['v1', 'qwen2-tiny'],
    ]) {
      const folder = await hubFolder('org/llama', { ...offline, revision });
      expect(folder.commit).toBe(hub.commit('org/llama', revision));
      // Python keeps the listing (trees/<commit>.json): the folder knows every file, and each one's bytes are the fixture's.
      const expected = repoFiles(fixture);
      expect(folder.files?.map((f) => f.path).sort()).toEqual(Object.keys(expected).sort());
      for (const [path, bytes] of Object.entries(expected)) expect(sha256(await readFolderFile(folder, path)), path).toBe(sha256(bytes));
    }
    expect((await loadAdapter(await hubFolder('org/gated', offline))).modules.length).toBeGreaterThan(0);
    expect(hub.requests).toEqual([]);

    const online = await hubFolder('org/llama', { endpoint: hub.endpoint, cache: nodeHubCache(cacheDir), offline: false, verify: 'all' });
    await openModelFolder(online);
    expect(hub.downloads()).toEqual([]);
    expect(await readFile(join(cacheDir, 'models--org--llama', 'refs', 'main'), 'utf8')).toBe(online.commit);
  });
});
