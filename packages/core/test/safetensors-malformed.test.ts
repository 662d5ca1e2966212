import { describe, expect, it } from 'vitest';
import {
  SafetensorsFile,
  Tensor,
  bytesSource,
  concatBytes,
  encodeSafetensors,
  isLoraFuseError,
  memoryFolder,
  openCheckpoint,
  type ErrorCode,
  type SafetensorsLimits,
} from '@lorafuse/core';

// A corpus of malformed safetensors files and sharded indexes, each built
// here from a valid file or by hand, each with the one code it must raise.

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Bytes of a file: an 8-byte LE length (default: the real header length), the header, the data. */
function build(header: string | Uint8Array, data: Uint8Array | number = 0, claimed?: bigint): Uint8Array {
  const head = typeof header === 'string' ? utf8(header) : header;
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + head.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(head.byteLength), true);
  out.set(head, 8);
  out.set(body, 8 + head.byteLength);
  return out;
}

/** A file whose header is `entries` as JSON, followed by `dataSize` zero bytes. */
const withEntries = (entries: unknown, dataSize = 0) => build(JSON.stringify(entries), dataSize);
/** One U8 tensor of `n` elements at `offsets`. */
const u8 = (n: number, offsets: unknown) => ({ dtype: 'U8', shape: [n], data_offsets: offsets });
/** One entry with `field` replaced (or removed when `undefined`). */
const entry = (field: string, value: unknown) => ({ t: { ...u8(4, [0, 4]), [field]: value } });

// Tensor a's first bytes (f32 1.0 = 00 00 80 3f) hold a lone 0x80: not UTF-8 if read as header text.
const VALID = concatBytes(
  encodeSafetensors({ a: Tensor.f32([2, 2], [1, 2, 3, 4]), b: new Tensor('i32', [3], Int32Array.from([5, 6, 7])), c: new Tensor('u8', [4]) }, { format: 'pt' }),
);
const N = Number(new DataView(VALID.buffer).getBigUint64(0, true));
const L = VALID.byteLength;
const withLength = (n: bigint) => {
  const copy = VALID.slice();
  new DataView(copy.buffer).setBigUint64(0, n, true);
  return copy;
};
const f64File = withEntries({ d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8);

interface Case {
  name: string;
  code: ErrorCode;
  run: () => Promise<unknown>;
}

const open = (bytes: Uint8Array, limits?: SafetensorsLimits) => () => SafetensorsFile.open(bytesSource(bytes, 'case.safetensors'), limits);

const fileCases: [string, ErrorCode, Uint8Array, SafetensorsLimits?][] = [
  // Truncated at many points
  ...[0, 1, 4, 7].map((at): [string, ErrorCode, Uint8Array] => [`truncated to ${at} bytes`, 'SAFETENSORS_TOO_SMALL', VALID.slice(0, at)]),
  ...[8, 9, 8 + (N >> 1), 8 + N - 1].map((at): [string, ErrorCode, Uint8Array] => [
    `truncated inside the header at ${at}`,
    'SAFETENSORS_HEADER_TRUNCATED',
    VALID.slice(0, at),
  ]),
  ...[8 + N, 8 + N + 1, 8 + N + 16, L - 1].map((at): [string, ErrorCode, Uint8Array] => [
    `truncated inside the data at ${at}`,
    'SAFETENSORS_OFFSETS_OUT_OF_BOUNDS',
    VALID.slice(0, at),
  ]),
  // Lying header lengths
  ['length 2^64 - 1', 'SAFETENSORS_HEADER_TOO_LARGE', withLength(2n ** 64n - 1n)],
  ['length 10 GB', 'SAFETENSORS_HEADER_TOO_LARGE', withLength(10_000_000_000n)],
  ['length over a lowered cap', 'SAFETENSORS_HEADER_TOO_LARGE', VALID, { maxHeaderBytes: 16 }],
  ['length of the whole file', 'SAFETENSORS_HEADER_TRUNCATED', withLength(BigInt(L))],
  ['length one past the file', 'SAFETENSORS_HEADER_TRUNCATED', withLength(BigInt(L - 7))],
  ['length swallowing the data (binary)', 'INVALID_UTF8', withLength(BigInt(L - 8))],
  ['length swallowing two zero bytes', 'INVALID_JSON', withLength(BigInt(N + 2))],
  ['length 0', 'INVALID_JSON', withLength(0n)],
  ['length cutting the JSON', 'INVALID_JSON', withLength(BigInt(N - 8))],
  ['header over the JSON byte limit', 'JSON_LIMIT_EXCEEDED', VALID, { json: { maxBytes: 10 } }],
  // Offsets
  ['overlapping offsets', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(8, [0, 8]), b: u8(8, [4, 12]) }, 12)],
  ['two tensors on the same bytes', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [0, 4]), b: u8(4, [0, 4]) }, 4)],
  ['reversed offsets', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [4, 0]) }, 4)],
  ['offsets past the data', 'SAFETENSORS_OFFSETS_OUT_OF_BOUNDS', withEntries({ a: u8(4, [0, 4]) }, 2)],
  ['offsets far past the data', 'SAFETENSORS_OFFSETS_OUT_OF_BOUNDS', withEntries({ a: u8(4, [2 ** 40, 2 ** 40 + 4]) }, 4)],
  ['hole between tensors', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [0, 4]), b: u8(4, [6, 10]) }, 10)],
  ['data not starting at 0', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [2, 6]) }, 6)],
  ['trailing bytes after the data', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [0, 4]) }, 6)],
  ['bytes but no tensors', 'SAFETENSORS_INVALID_OFFSETS', withEntries({}, 3)],
  ['negative offset', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [-4, 0]) }, 4)],
  ['fractional offset', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [0, 4.5]) }, 4)],
  ['offset beyond 2^53', 'SAFETENSORS_INVALID_OFFSETS', withEntries({ a: u8(4, [0, 2 ** 60]) }, 4)],
  ['three offsets', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('data_offsets', [0, 4, 8]), 4)],
  ['string offsets', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('data_offsets', ['0', '4']), 4)],
  ['null offsets', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('data_offsets', null), 4)],
  ['missing offsets', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('data_offsets', undefined), 4)],
  // Dtypes
  ['F32 span of 6 bytes', 'SAFETENSORS_SIZE_MISMATCH', withEntries({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 6] } }, 6)],
  ['F64 span of 4 bytes', 'SAFETENSORS_SIZE_MISMATCH', withEntries({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 4] } }, 4)],
  ['BOOL 2x2 in 3 bytes', 'SAFETENSORS_SIZE_MISMATCH', withEntries({ a: { dtype: 'BOOL', shape: [2, 2], data_offsets: [0, 3] } }, 3)],
  ['empty shape with bytes', 'SAFETENSORS_SIZE_MISMATCH', withEntries({ a: { dtype: 'U8', shape: [0], data_offsets: [0, 1] } }, 1)],
  ['dtype F128', 'SAFETENSORS_UNKNOWN_DTYPE', withEntries(entry('dtype', 'F128'), 4)],
  ['lowercase dtype', 'SAFETENSORS_UNKNOWN_DTYPE', withEntries(entry('dtype', 'u8'), 4)],
  ['dtype named after an Object method', 'SAFETENSORS_UNKNOWN_DTYPE', withEntries(entry('dtype', 'toString'), 4)],
  ['numeric dtype', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('dtype', 4), 4)],
  ['missing dtype', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('dtype', undefined), 4)],
  // Shapes
  ['2^53 elements', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [2 ** 26, 2 ** 27]), 4)],
  ['dimension 2^53', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [2 ** 53]), 4)],
  ['2^53 bytes of F64', 'SAFETENSORS_INVALID_SHAPE', withEntries({ t: { dtype: 'F64', shape: [2 ** 50], data_offsets: [0, 8] } }, 8)],
  ['dimension 1e300', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [1e300]), 4)],
  ['negative dimension', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [-4]), 4)],
  ['fractional dimension', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [1.5]), 4)],
  ['rank 9', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [1, 1, 1, 1, 4, 1, 1, 1, 1]), 4)],
  ['rank over a lowered limit', 'SAFETENSORS_INVALID_SHAPE', withEntries(entry('shape', [2, 2]), 4), { maxRank: 1 }],
  ['string shape', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('shape', '4'), 4)],
  ['string dimension', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('shape', ['4']), 4)],
  ['null dimension', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('shape', [null]), 4)],
  ['missing shape', 'SAFETENSORS_HEADER_INVALID', withEntries(entry('shape', undefined), 4)],
  // Text and JSON
  ['byte 0xff in the header', 'INVALID_UTF8', build(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))],
  ['overlong UTF-8', 'INVALID_UTF8', build(Uint8Array.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]))],
  ['UTF-8 encoded surrogate', 'INVALID_UTF8', build(Uint8Array.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]))],
  ['UTF-8 cut mid-character', 'INVALID_UTF8', build(Uint8Array.from([0x7b, 0x7d, 0xe2, 0x82]))],
  ['trailing comma', 'INVALID_JSON', build('{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},}')],
  ['single quotes', 'INVALID_JSON', build("{'t':1}")],
  ['unterminated object', 'INVALID_JSON', build('{"t":{"dtype":"U8"')],
  ['deep JSON', 'JSON_LIMIT_EXCEEDED', build(`{"__metadata__":${'['.repeat(100)}${']'.repeat(100)}}`)],
  ['header is an array', 'SAFETENSORS_HEADER_INVALID', build('[]')],
  ['header is a string', 'SAFETENSORS_HEADER_INVALID', build('"safetensors"')],
  ['header is null', 'SAFETENSORS_HEADER_INVALID', build('null')],
  ['header is a number', 'SAFETENSORS_HEADER_INVALID', build('42')],
  ['entry is a number', 'SAFETENSORS_HEADER_INVALID', withEntries({ t: 1 })],
  ['entry is an array', 'SAFETENSORS_HEADER_INVALID', withEntries({ t: ['U8', [0], [0, 0]] })],
  ['entry is null', 'SAFETENSORS_HEADER_INVALID', withEntries({ t: null })],
  // Metadata
  ['numeric metadata value', 'SAFETENSORS_HEADER_INVALID', withEntries({ __metadata__: { total_size: 4 } })],
  ['object metadata value', 'SAFETENSORS_HEADER_INVALID', withEntries({ __metadata__: { a: { b: 'c' } } })],
  ['metadata is an array', 'SAFETENSORS_HEADER_INVALID', withEntries({ __metadata__: ['pt'] })],
  ['metadata is a string', 'SAFETENSORS_HEADER_INVALID', withEntries({ __metadata__: 'pt' })],
  ['metadata is null', 'SAFETENSORS_HEADER_INVALID', withEntries({ __metadata__: null })],
  // Duplicate names (JSON.parse alone would keep the last silently)
  [
    'duplicate tensor name',
    'SAFETENSORS_DUPLICATE_TENSOR',
    build('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', 4),
  ],
  [
    'duplicate name spelled with an escape',
    'SAFETENSORS_DUPLICATE_TENSOR',
    build('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"\\u0061":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
  ],
  ['duplicate metadata', 'SAFETENSORS_DUPLICATE_TENSOR', build('{"__metadata__":{},"__metadata__":{}}')],
  // Counts and limits
  ['more tensors than allowed', 'SAFETENSORS_TOO_MANY_TENSORS', VALID, { maxTensors: 2 }],
  ['any tensor when none allowed', 'SAFETENSORS_TOO_MANY_TENSORS', VALID, { maxTensors: 0 }],
  ['negative limit', 'INVALID_OPTION', VALID, { maxHeaderBytes: -1 }],
];

/** A checkpoint folder: an index (object or raw text) plus shards. */
function checkpoint(index: unknown, shards: Record<string, Uint8Array> = {}) {
  const text = typeof index === 'string' || index instanceof Uint8Array ? index : JSON.stringify(index);
  return memoryFolder({ 'model.safetensors.index.json': typeof text === 'string' ? utf8(text) : text, ...shards }, 'ckpt');
}
const SHARD = concatBytes(encodeSafetensors({ w: Tensor.f32([1], [1]) }));
const shardCase =
  (index: unknown, shards: Record<string, Uint8Array> = { 's1.safetensors': SHARD }) =>
  () =>
    openCheckpoint(checkpoint(index, shards));

const cases: Case[] = [
  ...fileCases.map(([name, code, bytes, limits]) => ({ name, code, run: open(bytes, limits) })),
  // Reads
  { name: 'read of an unknown name', code: 'TENSOR_NOT_FOUND', run: async () => (await open(VALID)()).read('zz') },
  { name: 'info of an unknown name', code: 'TENSOR_NOT_FOUND', run: async () => (await open(VALID)()).info('zz') },
  { name: 'read of an F64 tensor', code: 'UNSUPPORTED_DTYPE', run: async () => (await open(f64File)()).read('d') },
  { name: 'aborted open', code: 'ABORTED', run: () => SafetensorsFile.open(bytesSource(VALID), {}, AbortSignal.abort()) },
  // Sharded checkpoints
  { name: 'missing shard', code: 'SHARD_INDEX_INVALID', run: shardCase({ weight_map: { w: 's2.safetensors' } }) },
  { name: 'shard path ../x', code: 'PATH_ESCAPE', run: shardCase({ weight_map: { w: '../x' } }) },
  { name: 'absolute shard path', code: 'PATH_ESCAPE', run: shardCase({ weight_map: { w: '/etc/passwd' } }) },
  { name: 'shard path with backslashes', code: 'PATH_ESCAPE', run: shardCase({ weight_map: { w: '..\\x.safetensors' } }) },
  { name: 'tensor not in its shard', code: 'SHARD_INDEX_INVALID', run: shardCase({ weight_map: { w: 's1.safetensors', v: 's1.safetensors' } }) },
  { name: 'missing weight_map', code: 'SHARD_INDEX_INVALID', run: shardCase({ metadata: {} }) },
  { name: 'weight_map is an array', code: 'SHARD_INDEX_INVALID', run: shardCase({ weight_map: ['s1.safetensors'] }) },
  { name: 'weight_map value is a number', code: 'SHARD_INDEX_INVALID', run: shardCase({ weight_map: { w: 1 } }) },
  { name: 'index metadata is a string', code: 'SHARD_INDEX_INVALID', run: shardCase({ metadata: 'pt', weight_map: { w: 's1.safetensors' } }) },
  { name: 'index is an array', code: 'SHARD_INDEX_INVALID', run: shardCase([]) },
  { name: 'index is not JSON', code: 'INVALID_JSON', run: shardCase('{"weight_map":') },
  { name: 'index is not UTF-8', code: 'INVALID_UTF8', run: shardCase(Uint8Array.from([0x7b, 0xff, 0x7d])) },
  {
    name: 'index over the JSON byte limit',
    code: 'JSON_LIMIT_EXCEEDED',
    run: () => openCheckpoint(checkpoint({ weight_map: {} }), { limits: { json: { maxBytes: 4 } } }),
  },
  {
    name: 'truncated shard',
    code: 'SAFETENSORS_HEADER_TRUNCATED',
    run: shardCase({ weight_map: { w: 's1.safetensors' } }, { 's1.safetensors': SHARD.slice(0, 20) }),
  },
  { name: 'empty folder', code: 'FILE_NOT_FOUND', run: () => openCheckpoint(memoryFolder()) },
  { name: 'file option escaping the folder', code: 'PATH_ESCAPE', run: () => openCheckpoint(memoryFolder(), { file: '../model.safetensors' }) },
];

/** Runs a case, failing it (rather than hanging the suite) after 10 s: cases take milliseconds, even on a busy machine. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('case did not finish within 10 s')), 10_000)));
  try {
    await Promise.race([run(), timeout]);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    clearTimeout(timer);
  }
}

describe('malformed safetensors corpus', () => {
  it('holds at least 50 cases over at least 8 distinct codes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.map((c) => c.code)).size).toBeGreaterThanOrEqual(8);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c.code, c] as const))('%s -> %s', async (_name, code, c) => {
    const error = await outcome(c.run);
    expect(isLoraFuseError(error), `threw ${String(error)}`).toBe(true);
    expect((error as { code: string }).code).toBe(code);
  });

  it('the valid base file and tricky-but-valid headers open', async () => {
    const file = await open(VALID)();
    expect(file.tensors.map((t) => t.name)).toEqual(['a', 'b', 'c']);
    // Names with quotes, braces, commas and "__proto__", nested duplicate keys, zero-size tensors anywhere.
    const header =
      '{"__metadata__":{"k":"1","k":"2"},"a\\"{,}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"__proto__":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"z":{"dtype":"I64","shape":[0,3],"data_offsets":[2,2]}}';
    const odd = await open(build(header, Uint8Array.from([9, 8])))();
    expect(odd.tensors.map((t) => t.name)).toEqual(['a"{,}', '__proto__', 'z']);
    expect(Array.from((await odd.read('__proto__')).data as Uint8Array)).toEqual([9, 8]);
    expect((await odd.read('z')).shape).toEqual([0, 3]);
    expect(odd.metadata).toEqual({ k: '2' });
    const empty = await open(build('{}'))();
    expect(empty.tensors).toEqual([]);
  });
});
