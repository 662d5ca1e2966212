// GGUF version 3, as ggml's documentation describes it: little-endian
// header (magic, version, tensor and key/value counts), the key/value pairs,
// the tensor infos (name, dimensions innermost first, ggml type, offset into
// the data section), padding to the alignment, then each tensor's data padded
// to the alignment.
import { LoraFuseError } from '../../errors/index.js';
import { storageBytes } from '../../tensor/index.js';
import type { WritableFolder } from '../folder.js';
import type { GgufContent, GgufScalarType, GgufValue } from './types.js';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
/** GGUF's default data alignment (applies when `general.alignment` is absent). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
const ALIGNMENT_KEY = 'general.alignment';
/** ggml's GGML_MAX_NAME counts the terminating zero. */
const MAX_TENSOR_NAME_BYTES = 63;
const MAX_KEY_BYTES = 65535;
const MAX_DIMS = 4;

const VALUE_TYPES: Readonly<Record<GgufScalarType | 'array', number>> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};

/** Integer ranges of the number types; floats take any number. */
const INT_RANGES: Readonly<Partial<Record<GgufScalarType, readonly [number, number] | readonly [bigint, bigint]>>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
  u64: [0n, 2n ** 64n - 1n],
  i64: [-(2n ** 63n), 2n ** 63n - 1n],
};

type NumberType = Exclude<GgufScalarType, 'bool' | 'string'>;
const view = DataView.prototype;
/** Byte size and DataView setter of each number type. */
const SETTERS: Readonly<Record<NumberType, readonly [number, (at: number, v: never, littleEndian: boolean) => void]>> = {
  u8: [1, view.setUint8],
  i8: [1, view.setInt8],
  u16: [2, view.setUint16],
  i16: [2, view.setInt16],
  u32: [4, view.setUint32],
  i32: [4, view.setInt32],
  f32: [4, view.setFloat32],
  f64: [8, view.setFloat64],
  u64: [8, view.setBigUint64],
  i64: [8, view.setBigInt64],
};

/** ggml type ids of the tensor dtypes GGUF files written here hold. */
const GGML_TYPES = { f32: 0, f16: 1 } as const;

const utf8 = new TextEncoder();

/** A growing little-endian byte buffer. */
class ByteWriter {
  #bytes = new Uint8Array(1024);
  #view = new DataView(this.#bytes.buffer);
  length = 0;

  /** Makes room for `n` more bytes and returns where they start; call it before touching the view, which it may replace. */
  #reserve(n: number): number {
    const at = this.length;
    if (at + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, at + n));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  /** A number of GGUF type `type`, little-endian. */
  number(type: NumberType, v: number | bigint): void {
    const [size, set] = SETTERS[type];
    const at = this.#reserve(size);
    set.call(this.#view, at, v as never, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.#reserve(b.length);
    this.#bytes.set(b, at);
  }
  /** A GGUF string: u64 byte length, then UTF-8 without a terminator. */
  string(s: string): void {
    const b = utf8.encode(s);
    this.number('u64', BigInt(b.length));
    this.bytes(b);
  }
  /** Zeros up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    this.#reserve(padding(this.length, alignment));
  }
  result(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

const padding = (n: number, alignment: number) => (alignment - (n % alignment)) % alignment;

function invalid(message: string, details: Record<string, unknown>): LoraFuseError {
  return new LoraFuseError('INVALID_OPTION', message, { details });
}

function writeScalar(out: ByteWriter, type: GgufScalarType, value: unknown, key: string): void {
  const range = INT_RANGES[type];
  const bad = (expected: string) => invalid(`GGUF metadata "${key}": ${String(value)} is not ${expected}.`, { key, type });
  if (type === 'string') {
    if (typeof value !== 'string') throw bad('a string');
    out.string(value);
  } else if (type === 'bool') {
    if (typeof value !== 'boolean') throw bad('true or false');
    out.number('u8', value ? 1 : 0);
  } else if (type === 'u64' || type === 'i64') {
    const [lo, hi] = range as readonly [bigint, bigint];
    if (typeof value !== 'bigint' || value < lo || value > hi) throw bad(`a bigint in [${lo}, ${hi}] (${type})`);
    out.number(type, value);
  } else if (range) {
    const [lo, hi] = range as readonly [number, number];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) throw bad(`an integer in [${lo}, ${hi}] (${type})`);
    out.number(type, value);
  } else {
    if (typeof value !== 'number') throw bad(`a number (${type})`);
    out.number(type, value);
  }
}

function writeValue(out: ByteWriter, key: string, value: GgufValue): void {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(VALUE_TYPES, value.type)) {
    throw invalid(`GGUF metadata "${key}" needs a type, one of ${Object.keys(VALUE_TYPES).join(', ')}.`, { key });
  }
  out.number('u32', VALUE_TYPES[value.type]);
  if (value.type !== 'array') {
    writeScalar(out, value.type, value.value, key);
    return;
  }
  if (value.itemType === ('array' as string) || !Object.hasOwn(VALUE_TYPES, value.itemType) || !Array.isArray(value.values)) {
    throw invalid(`GGUF metadata "${key}": an array needs an itemType other than "array" and a values array.`, { key });
  }
  out.number('u32', VALUE_TYPES[value.itemType]);
  out.number('u64', BigInt(value.values.length));
  for (const item of value.values) writeScalar(out, value.itemType, item, key);
}

function checkAlignment(alignment: number): void {
  // GGUF asks for a multiple of 8; ggml's reader also wants a power of two.
  if (!Number.isSafeInteger(alignment) || alignment < 8 || alignment > 2 ** 31 || (alignment & (alignment - 1)) !== 0) {
    throw invalid(`GGUF alignment must be a power of two from 8 to 2^31; got ${alignment}.`, { alignment });
  }
}

function checkKey(key: string, seen: Set<string>): void {
  const bytes = typeof key === 'string' ? utf8.encode(key).length : 0;
  if (bytes === 0 || bytes > MAX_KEY_BYTES || !/^[\x20-\x7e]+$/.test(key)) {
    throw invalid(`GGUF metadata key ${JSON.stringify(key)} must be 1 to ${MAX_KEY_BYTES} printable ASCII characters.`, { key });
  }
  if (key === ALIGNMENT_KEY) throw invalid(`Give the alignment as the alignment option, not as "${ALIGNMENT_KEY}" metadata.`, { key });
  if (seen.has(key)) throw invalid(`GGUF metadata key "${key}" is given twice.`, { key });
  seen.add(key);
}

/**
 * Encodes a GGUF version 3 file (little-endian) as chunks: header, metadata
 * and tensor infos in one, then each tensor's bytes (a view of the tensor,
 * not a copy) followed by zero padding to the alignment. Throws
 * `INVALID_OPTION` for a malformed key, value, tensor name or alignment and
 * `UNSUPPORTED_DTYPE`/`SHAPE_MISMATCH` for a tensor GGUF cannot hold here.
 */
export function encodeGguf(content: GgufContent): Uint8Array[] {
  const alignment = content.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  checkAlignment(alignment);
  const metadata: Array<readonly [string, GgufValue]> = [...content.metadata];
  const keys = new Set<string>();
  for (const [key] of metadata) checkKey(key, keys);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.push([ALIGNMENT_KEY, { type: 'u32', value: alignment }]);

  const head = new ByteWriter();
  head.number('u32', MAGIC);
  head.number('u32', VERSION);
  head.number('u64', BigInt(content.tensors.length));
  head.number('u64', BigInt(metadata.length));
  for (const [key, value] of metadata) {
    head.string(key);
    writeValue(head, key, value);
  }

  const names = new Set<string>();
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const { name, tensor } of content.tensors) {
    const nameBytes = typeof name === 'string' ? utf8.encode(name).length : 0;
    if (nameBytes === 0 || nameBytes > MAX_TENSOR_NAME_BYTES || names.has(name)) {
      const why = names.has(name) ? 'is given twice' : `must be 1 to ${MAX_TENSOR_NAME_BYTES} bytes of UTF-8`;
      throw invalid(`GGUF tensor name ${JSON.stringify(name)} ${why}.`, { tensor: name });
    }
    names.add(name);
    if (tensor.dtype !== 'f32' && tensor.dtype !== 'f16') {
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `GGUF tensor "${name}" is ${String(tensor.dtype)}; GGUF files written here hold f32 or f16 tensors.`, {
        details: { tensor: name, dtype: tensor.dtype },
      });
    }
    if (tensor.shape.length < 1 || tensor.shape.length > MAX_DIMS) {
      throw new LoraFuseError('SHAPE_MISMATCH', `GGUF tensor "${name}" has ${tensor.shape.length} dimensions; GGUF holds 1 to ${MAX_DIMS}.`, {
        details: { tensor: name, shape: [...tensor.shape] },
      });
    }
    head.string(name);
    head.number('u32', tensor.shape.length);
    for (let d = tensor.shape.length - 1; d >= 0; d--) head.number('u64', BigInt(tensor.shape[d]));
    head.number('u32', GGML_TYPES[tensor.dtype]);
    head.number('u64', BigInt(offset));
    const bytes = storageBytes(tensor.data);
    const pad = padding(bytes.byteLength, alignment);
    data.push(bytes, new Uint8Array(pad));
    offset += bytes.byteLength + pad;
  }
  head.pad(alignment);
  return [head.result(), ...data.filter((chunk) => chunk.byteLength > 0)];
}

/** Writes {@link encodeGguf} output to `path` in `folder` (atomically where the folder supports it). */
export function writeGguf(folder: WritableFolder, path: string, content: GgufContent): Promise<void> {
  return folder.write(path, encodeGguf(content));
}
