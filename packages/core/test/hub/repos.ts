// Repositories the fake Hub serves in the Hub tests: the golden fixtures of
// packages/core/test/fixtures as they would be uploaded, with the files a
// real repository also holds (README.md, .gitattributes) and a nested path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../fixtures/index.js';
import type { FakeRepo } from './fake-hub.js';

/** The files of a fixture folder, by name. */
export function fixtureFiles(name: string): Record<string, Uint8Array> {
  const dir = join(FIXTURES, name);
  return Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

const text = (s: string) => new TextEncoder().encode(s);

/** A fixture as a repository's files, with a model card, LFS attributes and a file in a subfolder. */
export function repoFiles(name: string): Record<string, Uint8Array> {
  return {
    ...fixtureFiles(name),
    'README.md': text(`# ${name}\n\nA golden fixture of LoRAFuse.\n`),
    '.gitattributes': text('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'),
    'docs/notes.txt': text('not read by any loader\n'),
  };
}

/** The token of the gated repository. */
export const TOKEN = 'hf_fakeTokenForTestsOnly0123456789';

/** Four megabytes of a seeded LCG, an LFS file (by its name) large enough to arrive in many chunks. */
export function bigFile(): Uint8Array {
  let s = 5;
  return Uint8Array.from({ length: 4 << 20 }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  });
}

/** `org/llama` (main and tag v1 = the qwen2 fixture), `org/lora`, the gated `org/gated`, and `org/big` holding {@link bigFile} and an empty file. */
export function fixtureRepos(): Record<string, FakeRepo> {
  return {
    'org/big': { revisions: { main: { 'big.safetensors': bigFile(), 'empty.txt': new Uint8Array(0) } } },
    'org/llama': { revisions: { main: repoFiles('llama-tiny'), v1: repoFiles('qwen2-tiny') } },
    'org/lora': { revisions: { main: repoFiles('lora-qv-r8') } },
    'org/gated': { revisions: { main: repoFiles('lora-layers') }, token: TOKEN },
  };
}
