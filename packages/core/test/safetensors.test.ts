import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SafetensorsFile,
  Tensor,
  bytesSource,
  concatBytes,
  encodeSafetensors,
  isLoraFuseError,
  memoryFolder,
  openCheckpoint,
  writeSafetensors,
  type ByteSource,
  type ErrorCode,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';

const f32Bits = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);

/** One tensor of every loadable dtype, with edge-case bit patterns. */
function sampleTensors(): [string, Tensor][] {
  return [
    // 1, quiet NaN with payload, -inf, smallest subnormal, -0, largest finite
    ['f32', new Tensor('f32', [2, 3], f32Bits([0x3f800000, 0x7fc00001, 0xff800000, 0x00000001, 0x80000000, 0x7f7fffff]))],
    // 0, -0, smallest and largest subnormal, +inf, -inf, NaN with payload, 1
    ['f16', new Tensor('f16', [8], Uint16Array.from([0x0000, 0x8000, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e01, 0x3c00]))],
    // NaN with payload, -inf, smallest subnormal, 1
    ['bf16', new Tensor('bf16', [2, 2], Uint16Array.from([0x7fc1, 0xff80, 0x0001, 0x3f80]))],
    ['i64', new Tensor('i64', [3], BigInt64Array.from([2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n]))],
    ['i32', new Tensor('i32', [2], Int32Array.from([-2147483648, 2147483647]))],
    ['u8', new Tensor('u8', [3], Uint8Array.from([0, 128, 255]))],
    ['bool', new Tensor('bool', [4], Uint8Array.from([1, 0, 0, 1]))],
    ['scalar', new Tensor('f32', [], Float32Array.from([3.5]))],
    ['empty', new Tensor('f32', [0, 4])],
    ['empty.i64', new Tensor('i64', [3, 0])],
  ];
}

const rawBytes = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

async function expectCode(promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    expect(isLoraFuseError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  expect.fail(`expected ${code}, nothing was thrown`);
}

/** A source that records every read. */
function countingSource(inner: ByteSource): ByteSource & { bytesRead: number; reads: [number, number][] } {
  const counter = {
    name: inner.name,
    size: inner.size,
    bytesRead: 0,
    reads: [] as [number, number][],
    read(offset: number, length: number, signal?: AbortSignal) {
      counter.bytesRead += length;
      counter.reads.push([offset, length]);
      return inner.read(offset, length, signal);
    },
  };
  return counter;
}

describe('safetensors round trip', () => {
  it('keeps every dtype bit-exact, with metadata, scalars and empty tensors', async () => {
    const tensors = sampleTensors();
    const metadata = { format: 'pt', note: 'ünïcode ✓ "quoted"' };
    const file = await SafetensorsFile.open(bytesSource(concatBytes(encodeSafetensors(tensors, metadata))));
    expect(file.metadata).toEqual(metadata);
    expect(file.dataOffset % 8).toBe(0);
    expect(file.tensors.map((t) => t.name)).toEqual(tensors.map(([n]) => n));
    expect(file.tensors.map((t) => t.fileDtype)).toEqual(['F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', 'F32', 'F32', 'I64']);
    for (const [name, original] of tensors) {
      const read = await file.read(name);
      expect(read.dtype).toBe(original.dtype);
      expect(read.shape).toEqual(original.shape);
      expect(file.info(name).size).toBe(original.shape.reduce((a, b) => a * b, 1));
      expect(rawBytes(read)).toEqual(rawBytes(original));
    }
    // Spot values against hand-written expectations, not against the input arrays.
    expect(new Uint32Array((await file.read('f32')).data.buffer)[1]).toBe(0x7fc00001);
    expect(Array.from((await file.read('f16')).data as Uint16Array)).toEqual([0, 0x8000, 1, 0x3ff, 0x7c00, 0xfc00, 0x7e01, 0x3c00]);
    expect((await file.read('i64')).data[0]).toBe(9223372036854775807n);
    expect((await file.read('i64')).data[2]).toBe(9007199254740993n);
    expect((await file.read('scalar')).toFloat32()[0]).toBe(3.5);
    expect(file.info('empty')).toMatchObject({ size: 0, begin: file.info('empty').end });
  });

  it('writes the exact bytes of the format (8-byte LE length, space-padded JSON, data)', () => {
    const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"I32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expect(header.length).toBe(132); // padded with 4 spaces to 136 = 0x88
    const expected = Uint8Array.from([
      0x88,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...Array.from(header, (c) => c.charCodeAt(0)),
      0x20,
      0x20,
      0x20,
      0x20,
      0x07,
      0x00,
      0x00,
      0x00, // i32 7
      0x00,
      0x00,
      0x80,
      0x3f, // f32 1
      0x00,
      0x00,
      0x00,
      0xc0, // f32 -2
    ]);
    const chunks = encodeSafetensors({ w: new Tensor('i32', [], Int32Array.from([7])), b: Tensor.f32([2], [1, -2]) }, { k: 'v' });
    expect(concatBytes(chunks)).toEqual(expected);
    expect(chunks[0].byteLength).toBe(8 + 136);
  });

  it('reads a file written by hand with tensors out of offset order and extra entry fields', async () => {
    const header = JSON.stringify({ b: { dtype: 'U8', shape: [2], data_offsets: [2, 4], extra: 1 }, a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } });
    const bytes = Uint8Array.from([header.length, 0, 0, 0, 0, 0, 0, 0, ...Array.from(header, (c) => c.charCodeAt(0)), 10, 11, 12, 13]);
    const file = await SafetensorsFile.open(bytesSource(bytes));
    expect(file.tensors.map((t) => t.name)).toEqual(['b', 'a']);
    expect(Array.from((await file.read('b')).data as Uint8Array)).toEqual([12, 13]);
    expect(Array.from((await file.read('a')).data as Uint8Array)).toEqual([10, 11]);
  });

  it('keeps integer-like names in the order given', async () => {
    const file = await SafetensorsFile.open(
      bytesSource(
        concatBytes(
          encodeSafetensors([
            ['10', Tensor.f32([1], [1])],
            ['2', Tensor.f32([1], [2])],
          ]),
        ),
      ),
    );
    expect(file.tensors.map((t) => [t.name, t.begin])).toEqual([
      ['10', 0],
      ['2', 4],
    ]);
  });

  it('reports dtypes it cannot load as undefined and refuses to read them', async () => {
    const header = JSON.stringify({ d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } });
    const bytes = Uint8Array.from([header.length, 0, 0, 0, 0, 0, 0, 0, ...Array.from(header, (c) => c.charCodeAt(0)), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const file = await SafetensorsFile.open(bytesSource(bytes));
    expect(file.info('d')).toMatchObject({ fileDtype: 'F64', dtype: undefined, size: 1 });
    await expectCode(file.read('d'), 'UNSUPPORTED_DTYPE');
    await expectCode(file.read('missing'), 'TENSOR_NOT_FOUND');
    expect(file.has('d')).toBe(true);
    expect(file.has('missing')).toBe(false);
  });

  it('rejects bad input to the encoder with INVALID_OPTION', async () => {
    const t = Tensor.f32([1], [1]);
    await expectCode(
      () =>
        encodeSafetensors([
          ['a', t],
          ['a', t],
        ]),
      'INVALID_OPTION',
    );
    await expectCode(() => encodeSafetensors([['__metadata__', t]]), 'INVALID_OPTION');
    await expectCode(() => encodeSafetensors({ a: t }, { n: 1 as unknown as string }), 'INVALID_OPTION');
    await expectCode(() => encodeSafetensors({ a: t }, ['x'] as unknown as Record<string, string>), 'INVALID_OPTION');
  });

  it('writes through a WritableFolder', async () => {
    const folder = memoryFolder();
    await writeSafetensors(folder, 'sub/w.safetensors', { x: Tensor.f32([2], [5, 6]) }, { a: 'b' });
    const file = await SafetensorsFile.open(await folder.open('sub/w.safetensors'));
    expect(Array.from((await file.read('x')).toFloat32())).toEqual([5, 6]);
    expect(file.metadata).toEqual({ a: 'b' });
  });
});

describe('safetensors lazy reads', () => {
  it('reads only the prefix, the header and the one tensor asked for', async () => {
    const tensors = Array.from({ length: 64 }, (_, i) => [`layer.${i}.weight`, Tensor.f32([16, 8], new Float32Array(128).fill(i))] as [string, Tensor]);
    const bytes = concatBytes(encodeSafetensors(tensors));
    const source = countingSource(bytesSource(bytes));
    const file = await SafetensorsFile.open(source);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(source.bytesRead).toBe(8 + headerLength);
    const t = await file.read('layer.37.weight');
    expect(t.toFloat32().every((v) => v === 37)).toBe(true);
    expect(source.bytesRead).toBe(8 + headerLength + 16 * 8 * 4);
    expect(source.reads.at(-1)).toEqual([8 + headerLength + 37 * 512, 512]);
  });

  it('refuses a 10 GB header claim on a 100-byte file after reading 8 bytes', async () => {
    const bytes = new Uint8Array(100);
    new DataView(bytes.buffer).setBigUint64(0, 10_000_000_000n, true);
    const source = countingSource(bytesSource(bytes));
    await expectCode(SafetensorsFile.open(source), 'SAFETENSORS_HEADER_TOO_LARGE');
    // Even with the cap lifted, the real file size bounds what is read.
    await expectCode(SafetensorsFile.open(source, { maxHeaderBytes: 2 ** 50 }), 'SAFETENSORS_HEADER_TRUNCATED');
    expect(source.reads).toEqual([
      [0, 8],
      [0, 8],
    ]);
  });

  it('honours an aborted signal', async () => {
    const bytes = concatBytes(encodeSafetensors({ a: Tensor.f32([1], [1]) }));
    await expectCode(SafetensorsFile.open(bytesSource(bytes), {}, AbortSignal.abort()), 'ABORTED');
    const file = await SafetensorsFile.open(bytesSource(bytes));
    await expectCode(file.read('a', AbortSignal.abort()), 'ABORTED');
  });
});

describe('safetensors on disk (Node)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lorafuse-st-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('writes with nodeFolder and reads back with fileSource', async () => {
    const dir = await tempDir();
    const tensors = sampleTensors();
    await writeSafetensors(nodeFolder(dir), 'model.safetensors', tensors, { format: 'pt' });
    const onDisk = await readFile(join(dir, 'model.safetensors'));
    expect(new Uint8Array(onDisk)).toEqual(concatBytes(encodeSafetensors(tensors, { format: 'pt' })));
    const file = await SafetensorsFile.open(await fileSource(join(dir, 'model.safetensors')));
    for (const [name, original] of tensors) expect(rawBytes(await file.read(name))).toEqual(rawBytes(original));
    const store = await openCheckpoint(nodeFolder(dir));
    expect(store.tensors.length).toBe(tensors.length);
  });

  it('opens a checkpoint sharded in two files through its index', async () => {
    const dir = await tempDir();
    const folder = nodeFolder(dir);
    const a = Tensor.f32([2, 2], [1, 2, 3, 4]);
    const b = new Tensor('bf16', [3], Uint16Array.from([0x3f80, 0x4000, 0xc040]));
    const c = new Tensor('i64', [1], BigInt64Array.from([-5n]));
    await writeSafetensors(folder, 'model-00001-of-00002.safetensors', { 'layers.0.w': a, 'layers.0.b': b });
    await writeSafetensors(folder, 'model-00002-of-00002.safetensors', { 'layers.1.w': c });
    const index = {
      metadata: { total_size: 32, format: 'pt' },
      weight_map: {
        'layers.0.w': 'model-00001-of-00002.safetensors',
        'layers.0.b': 'model-00001-of-00002.safetensors',
        'layers.1.w': 'model-00002-of-00002.safetensors',
      },
    };
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const store = await openCheckpoint(folder);
    expect(store.tensors.map((t) => t.name)).toEqual(['layers.0.w', 'layers.0.b', 'layers.1.w']);
    expect(store.metadata).toEqual({ total_size: '32', format: 'pt' });
    expect(Array.from((await store.read('layers.0.w')).toFloat32())).toEqual([1, 2, 3, 4]);
    expect(Array.from((await store.read('layers.0.b')).toFloat32())).toEqual([1, 2, -3]);
    expect((await store.read('layers.1.w')).data[0]).toBe(-5n);
    expect(store.info('layers.1.w')).toMatchObject({ fileDtype: 'I64', begin: 0, end: 8 });
    expect(store.has('layers.9.w')).toBe(false);
    await expectCode(store.read('layers.9.w'), 'TENSOR_NOT_FOUND');
    // The index can also be named directly.
    expect((await openCheckpoint(folder, { file: 'model.safetensors.index.json' })).tensors.length).toBe(3);
  });
});
