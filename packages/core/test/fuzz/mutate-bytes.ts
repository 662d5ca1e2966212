// Blind byte-level damage: what a bad download, a bad disk or a careless
// edit does to a file.
import { concatBytes } from '@lorafuse/core';
import type { Rng } from './rng.js';

/** A named byte mutation. */
export type ByteMutation = (bytes: Uint8Array, rng: Rng) => Uint8Array;

const flipBits: ByteMutation = (bytes, rng) => {
  const out = bytes.slice();
  for (let n = 1 + rng.int(8); n > 0 && out.length > 0; n--) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
};

/** Flips bits within the first bytes, where the length prefix and header live. */
const flipHeadBits: ByteMutation = (bytes, rng) => {
  const out = bytes.slice();
  const span = Math.min(out.length, 8 + rng.int(512));
  for (let n = 1 + rng.int(4); n > 0 && span > 0; n--) out[rng.int(span)] ^= 1 << rng.int(8);
  return out;
};

const insertBytes: ByteMutation = (bytes, rng) => {
  const at = rng.int(bytes.length + 1);
  const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
  return concatBytes([bytes.subarray(0, at), extra, bytes.subarray(at)]);
};

const deleteBytes: ByteMutation = (bytes, rng) => {
  const at = rng.int(bytes.length + 1);
  return concatBytes([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + rng.int(16)))]);
};

const truncate: ByteMutation = (bytes, rng) => bytes.slice(0, rng.int(bytes.length));

const duplicateChunk: ByteMutation = (bytes, rng) => {
  const at = rng.int(bytes.length + 1);
  const chunk = bytes.subarray(at, at + 1 + rng.int(64));
  return concatBytes([bytes.subarray(0, at), chunk, bytes.subarray(at)]);
};

/** Every byte mutation, by name. */
export const BYTE_MUTATIONS: Readonly<Record<string, ByteMutation>> = { flipBits, flipHeadBits, insertBytes, deleteBytes, truncate, duplicateChunk };
