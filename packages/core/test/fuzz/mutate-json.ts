// Damage to JSON files (configs, shard indexes, JSONL lines): wrong values,
// hostile structure, bad encoding.
import { concatBytes } from '@lorafuse/core';
import type { Rng } from './rng.js';

type Json = Record<string, unknown>;
type JsonMutation = (json: Json, rng: Rng, hints: readonly unknown[]) => Uint8Array;

const encode = (text: string) => new TextEncoder().encode(text);
const JUNK: readonly unknown[] = [null, -1, 0, 1.5, 1e308, 2 ** 53, '', 'x', true, [], {}, [1, 'a'], { a: 1 }, 'a'.repeat(10_000)];

/** Sets one existing key to a junk value or a domain-specific `hint`. */
const replaceValue: JsonMutation = (json, rng, hints) => {
  const keys = Object.keys(json);
  const key = rng.pick(keys);
  return encode(JSON.stringify({ ...json, [key]: rng.chance(0.5) && hints.length > 0 ? rng.pick(hints) : rng.pick(JUNK) }));
};

const deleteKey: JsonMutation = (json, rng) => {
  const copy = { ...json };
  delete copy[rng.pick(Object.keys(copy))];
  return encode(JSON.stringify(copy));
};

const addKey: JsonMutation = (json, rng) => encode(JSON.stringify({ ...json, [`fuzz_${rng.int(100)}`]: rng.pick(JUNK) }));

/** Repeats a key with a different value: JSON.parse keeps the last one. */
const duplicateKey: JsonMutation = (json, rng) => {
  const key = rng.pick(Object.keys(json));
  return encode(`${JSON.stringify(json).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(rng.pick(JUNK))}}`);
};

const deepNesting: JsonMutation = (json, rng) => {
  const depth = rng.pick([63, 65, 1000, 100_000]);
  return encode(`${JSON.stringify(json).slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);
};

/** Big but within the default byte limit: a large array of numbers. */
const hugeJson: JsonMutation = (json, rng) => encode(JSON.stringify({ ...json, huge: Array.from({ length: 20_000 + rng.int(20_000) }, (_, i) => i) }));

const invalidUtf8: JsonMutation = (json, rng) => {
  const text = encode(JSON.stringify(json));
  const at = rng.int(text.length);
  return concatBytes([text.subarray(0, at), Uint8Array.of(rng.pick([0xff, 0xc0, 0xed, 0xf8, 0x80]), rng.pick([0x80, 0xa0, 0x22])), text.subarray(at)]);
};

const nonJsonTokens: JsonMutation = (json, rng) => {
  const key = rng.pick(Object.keys(json));
  return encode(`${JSON.stringify(json).slice(0, -1)},${JSON.stringify(key)}:${rng.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '1e999', "'x'"])}}`);
};

const notAnObject: JsonMutation = (_json, rng) => encode(rng.pick(['[]', 'null', '1', '"x"', '', ' ', '{', '\ufeff{}']));

/** Every JSON mutation, by name. */
export const JSON_MUTATIONS: Readonly<Record<string, JsonMutation>> = {
  replaceValue,
  deleteKey,
  addKey,
  duplicateKey,
  deepNesting,
  hugeJson,
  invalidUtf8,
  nonJsonTokens,
  notAnObject,
};
