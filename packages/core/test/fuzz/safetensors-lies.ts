// Header lies: a structurally valid safetensors file whose header says
// something the data does not back (what a hostile file does on purpose).
import { concatBytes } from '@lorafuse/core';
import type { Rng } from './rng.js';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A safetensors file taken apart: header entries (text order) and data section. */
interface SplitFile {
  entries: Array<[string, Entry | Record<string, string>]>;
  data: Uint8Array;
}

/** Splits valid safetensors bytes. */
function splitSafetensors(bytes: Uint8Array): SplitFile {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Entry>;
  return { entries: Object.entries(header), data: bytes.subarray(8 + n) };
}

/** Joins a header text and data section behind a length prefix (which lies when `lengthValue` is given). */
function joinSafetensors(headerText: string, data: Uint8Array, lengthValue?: bigint): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, lengthValue ?? BigInt(header.length), true);
  return concatBytes([prefix, header, data]);
}

const headerText = (entries: SplitFile['entries']) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;

type Lie = (file: SplitFile, rng: Rng) => Uint8Array;

const tensorsOf = (file: SplitFile) => file.entries.filter(([k]) => k !== '__metadata__') as Array<[string, Entry]>;

/** Replaces one tensor entry with `change(entry)`; the rest of the file is untouched. */
function editOne(file: SplitFile, rng: Rng, change: (e: Entry, rng: Rng) => unknown): Uint8Array {
  const tensors = tensorsOf(file);
  const victim = tensors.length > 0 ? rng.pick(tensors)[0] : '';
  const entries = file.entries.map(([k, v]) => [k, k === victim ? change(structuredClone(v as Entry), rng) : v] as [string, Entry]);
  return joinSafetensors(headerText(entries), file.data);
}

const GIANT = [2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 1e300, -1, 0.5];
const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I8', 'U8', 'BOOL', 'I64', 'F8_E4M3', 'F4', 'float32', ''];

const LIES: Readonly<Record<string, Lie>> = {
  lengthTooBig: (f, r) => joinSafetensors(headerText(f.entries), f.data, BigInt(new TextEncoder().encode(headerText(f.entries)).length + 1 + r.int(64))),
  lengthTooSmall: (f, r) =>
    joinSafetensors(headerText(f.entries), f.data, BigInt(Math.max(0, new TextEncoder().encode(headerText(f.entries)).length - 1 - r.int(64)))),
  lengthGiant: (f, r) => joinSafetensors(headerText(f.entries), f.data, r.pick([2n ** 40n, 2n ** 63n, 2n ** 64n - 1n, 100n * 1024n * 1024n + 1n])),
  shiftOffsets: (f, r) =>
    editOne(f, r, (e) => {
      const d = r.pick([-8, -4, -2, -1, 1, 2, 4, 8, 1 << 20]);
      return { ...e, data_offsets: r.chance(0.5) ? [e.data_offsets[0] + d, e.data_offsets[1] + d] : [e.data_offsets[0], e.data_offsets[1] + d] };
    }),
  swapOffsets: (f, r) => {
    const tensors = tensorsOf(f);
    if (tensors.length < 2) return LIES.shiftOffsets(f, r);
    const [a, b] = [r.pick(tensors)[0], r.pick(tensors)[0]];
    const off = new Map(tensors.map(([k, v]) => [k, v.data_offsets]));
    const entries = f.entries.map(
      ([k, v]) => [k, k === a ? { ...v, data_offsets: off.get(b) } : k === b ? { ...v, data_offsets: off.get(a) } : v] as [string, Entry],
    );
    return joinSafetensors(headerText(entries), f.data);
  },
  reverseOffsets: (f, r) => editOne(f, r, (e) => ({ ...e, data_offsets: [e.data_offsets[1], e.data_offsets[0]] })),
  swapDtype: (f, r) => editOne(f, r, (e) => ({ ...e, dtype: r.pick(DTYPES) })),
  multiplyDim: (f, r) =>
    editOne(f, r, (e) => {
      const shape = [...e.shape];
      if (shape.length > 0) shape[r.int(shape.length)] *= r.pick([2, 3, 1024, 2 ** 20]);
      return { ...e, shape };
    }),
  giantDim: (f, r) => editOne(f, r, (e) => ({ ...e, shape: e.shape.length > 0 ? e.shape.map((d, i) => (i === 0 ? r.pick(GIANT) : d)) : [r.pick(GIANT)] })),
  giantTensor: (f, r) => {
    const end = f.data.length;
    const entries = [
      ...f.entries,
      ['giant', { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [end, end + r.pick([2 ** 42, 2 ** 40, 2 ** 53 - 1])] }],
    ] as SplitFile['entries'];
    return joinSafetensors(headerText(entries), f.data);
  },
  manyDims: (f, r) => editOne(f, r, (e) => ({ ...e, shape: Array.from({ length: 9 + r.int(64) }, () => 1) })),
  badShapeType: (f, r) => editOne(f, r, (e) => ({ ...e, shape: r.pick([null, '4', [1, '2'], {}, [null]]) })),
  dropField: (f, r) =>
    editOne(f, r, (e) => {
      const copy: Record<string, unknown> = { ...e };
      delete copy[r.pick(['dtype', 'shape', 'data_offsets'])];
      return copy;
    }),
  entryNotObject: (f, r) => editOne(f, r, () => r.pick([null, 1, 'x', []])),
  duplicateKey: (f, r) => {
    const [name, entry] = r.pick(tensorsOf(f));
    return joinSafetensors(`${headerText(f.entries).slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(entry)}}`, f.data);
  },
  badMetadata: (f, r) =>
    joinSafetensors(headerText([['__metadata__', r.pick<unknown>([{ format: 1 }, [], 'pt', { a: null }]) as Record<string, string>], ...tensorsOf(f)]), f.data),
  notAnObject: (f, r) => joinSafetensors(r.pick(['[]', 'null', '1', '"x"', '', '{', '{"a":}']), f.data),
  deepHeader: (f, r) => joinSafetensors(`{"__metadata__":${'['.repeat(65 + r.int(5000))}}`, f.data),
  trailingData: (f, r) => joinSafetensors(headerText(f.entries), concatBytes([f.data, new Uint8Array(1 + r.int(16))])),
  nonFiniteWeights: (f, r) => {
    // The header stays true; only values change: loading must not depend on them.
    const data = f.data.slice();
    const view = new DataView(data.buffer);
    for (let n = 1 + r.int(8); n > 0 && data.length >= 4; n--) view.setFloat32(r.int(data.length / 4) * 4, r.pick([NaN, Infinity, -Infinity]), true);
    return joinSafetensors(headerText(f.entries), data);
  },
};

/** Every header lie, by name. */
export const SAFETENSORS_LIES: Readonly<Record<string, (bytes: Uint8Array, rng: Rng) => Uint8Array>> = Object.fromEntries(
  Object.entries(LIES).map(([name, lie]) => [name, (bytes: Uint8Array, rng: Rng) => lie(splitSafetensors(bytes), rng)]),
);
