// The portable SHA-1 and SHA-256 that check Hub downloads in browsers,
// against node:crypto on inputs around the block and padding boundaries
// and on a large input fed in uneven chunks; and the parsing of repository
// ids and `org/name@revision`.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCommitHash, isRepoId, parseHubReference, portableHash, repoFolderName } from '@lorafuse/core';
import { lcg } from '../../../cli/test/lcg.js';

const u = lcg(7);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(u() * 256));

describe('portable hashes', () => {
  for (const algorithm of ['sha1', 'sha256'] as const) {
    it(`${algorithm} equals node:crypto for every length 0..200 and around 2^16`, () => {
      for (const n of [...Array.from({ length: 201 }, (_, i) => i), 65535, 65536, 65537]) {
        const data = bytes(n);
        const h = portableHash(algorithm);
        h.update(data);
        expect(h.hex(), `${algorithm} of ${n} bytes`).toBe(createHash(algorithm).update(data).digest('hex'));
      }
    });

    it(`${algorithm} gives the same digest however the input is cut`, () => {
      const data = bytes(300_001);
      const h = portableHash(algorithm);
      for (let at = 0; at < data.length; ) {
        const step = Math.floor(u() * 200);
        h.update(data.subarray(at, at + step));
        at += step;
      }
      expect(h.hex()).toBe(createHash(algorithm).update(data).digest('hex'));
    });
  }
});

describe('repository ids', () => {
  it('accepts the ids the Hub accepts and nothing else', () => {
    for (const id of ['HuggingFaceTB/SmolLM2-135M-Instruct', 'Qwen/Qwen3-0.6B', 'google/gemma-3-270m', 'gpt2', 'a_b/c.d-e'])
      expect(isRepoId(id), id).toBe(true);
    for (const id of ['', 'a/b/c', '../x', 'a/..', 'a--b/c', 'a/b..c', '-a/b', 'a/b-', 'a /b', 'a/b@main', `a/${'x'.repeat(97)}`])
      expect(isRepoId(id), id).toBe(false);
  });

  it('parses org/name@revision, revisions with slashes included', () => {
    expect(parseHubReference('org/name')).toEqual({ repo: 'org/name' });
    expect(parseHubReference('org/name@v1.0')).toEqual({ repo: 'org/name', revision: 'v1.0' });
    expect(parseHubReference('org/name@refs/pr/1')).toEqual({ repo: 'org/name', revision: 'refs/pr/1' });
    for (const bad of ['org/name@', 'org/name@../x', 'adapters/target/extra', './org/name', '/abs/path']) expect(parseHubReference(bad), bad).toBeUndefined();
  });

  it("names cache folders as Python's huggingface_hub does", () => {
    expect(repoFolderName('org/name')).toBe('models--org--name');
    expect(repoFolderName('gpt2')).toBe('models--gpt2');
    expect(isCommitHash('0123456789abcdef0123456789abcdef01234567')).toBe(true);
    expect(isCommitHash('main')).toBe(false);
  });
});
