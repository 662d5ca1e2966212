import { LoraFuseError } from '../../errors/index.js';
import type { ByteSource } from '../source.js';
import { Sha1 } from './sha1.js';
import { Sha256 } from './sha256.js';

/** A hash fed in pieces. */
export interface Hasher {
  /** Feeds more bytes. */
  update(data: Uint8Array): void;
  /** Finishes and returns the digest in lowercase hex; the hasher is spent afterwards. */
  hex(): string;
}

/** Makes hashers; `@lorafuse/core/node` passes one backed by `node:crypto`, several times faster than the portable one. */
export type HashFactory = (algorithm: 'sha1' | 'sha256') => Hasher;

/** The portable {@link HashFactory}, plain TypeScript. */
export const portableHash: HashFactory = (algorithm) => (algorithm === 'sha1' ? new Sha1() : new Sha256());

/**
 * A hasher whose digest equals `etag` exactly when the bytes fed are the
 * blob's: a 64-digit etag is an LFS file's SHA-256, a 40-digit one the git
 * blob id, SHA-1 of `blob <size>\0` and the content.
 */
export function blobHasher(etag: string, size: number, hash: HashFactory): Hasher {
  if (/^[0-9a-f]{64}$/.test(etag)) return hash('sha256');
  if (!/^[0-9a-f]{40}$/.test(etag)) {
    throw new LoraFuseError('HTTP_ERROR', `The Hub listed a file with the etag "${etag}", neither a SHA-256 nor a git blob id; it cannot be checked.`, {
      details: { etag },
    });
  }
  const hasher = hash('sha1');
  hasher.update(new TextEncoder().encode(`blob ${size}\0`));
  return hasher;
}

/** Feeds the first `length` bytes of `source` to `hasher`, a few megabytes at a time. */
export async function feedSource(hasher: Hasher, source: ByteSource, length: number, signal?: AbortSignal): Promise<void> {
  const step = 8 << 20;
  for (let at = 0; at < length; at += step) hasher.update(await source.read(at, Math.min(step, length - at), signal));
}
