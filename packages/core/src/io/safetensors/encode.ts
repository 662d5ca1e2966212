import { LoraFuseError } from '../../errors/index.js';
import { storageBytes, type Tensor } from '../../tensor/index.js';
import type { WritableFolder } from '../folder.js';
import { isJsonObject } from '../text.js';
import { fileDType } from './dtypes.js';

/** Tensors to write: `[name, tensor]` pairs (a `Map` works) or an object keyed by name. */
export type NamedTensors = Iterable<readonly [string, Tensor]> | Readonly<Record<string, Tensor>>;

const METADATA_KEY = '__metadata__';

/**
 * Encodes tensors (and optional `__metadata__` strings) as safetensors
 * bytes, returned as chunks: the 8-byte length and the header JSON (padded
 * with spaces to a multiple of 8 so the data section is 8-byte aligned), then
 * each tensor's bytes, which are views of the tensors rather than copies.
 * Tensors are laid out in the order given. Throws `INVALID_OPTION` for
 * duplicate or reserved names and non-string metadata, `UNSUPPORTED_DTYPE`
 * for a dtype safetensors cannot hold.
 */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Readonly<Record<string, string>>): Uint8Array[] {
  const pairs = Symbol.iterator in tensors ? [...(tensors as Iterable<readonly [string, Tensor]>)] : Object.entries(tensors as Record<string, Tensor>);
  // Built as text rather than through an object so that integer-like names keep their order.
  const entries: string[] = [];
  if (metadata !== undefined) entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(checkMetadata(metadata))}`);
  const seen = new Set<string>();
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of pairs) {
    if (typeof name !== 'string' || name === METADATA_KEY || seen.has(name)) {
      const why = name === METADATA_KEY ? 'is reserved for metadata' : seen.has(name) ? 'is given twice' : 'is not a string';
      throw new LoraFuseError('INVALID_OPTION', `Tensor name ${JSON.stringify(name)} ${why}; give each tensor a distinct name.`, { details: { tensor: name } });
    }
    seen.add(name);
    const dtype = fileDType(tensor.dtype);
    if (dtype === undefined) {
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `Tensor "${name}" has dtype "${String(tensor.dtype)}", which cannot be written to safetensors.`, {
        details: { tensor: name },
      });
    }
    const bytes = storageBytes(tensor.data);
    entries.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.byteLength] })}`);
    data.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const n = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + n).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  return [head, ...data];
}

/** Writes {@link encodeSafetensors} output to `path` in `folder` (atomically where the folder supports it). */
export function writeSafetensors(folder: WritableFolder, path: string, tensors: NamedTensors, metadata?: Readonly<Record<string, string>>): Promise<void> {
  return folder.write(path, encodeSafetensors(tensors, metadata));
}

function checkMetadata(metadata: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const fix = 'convert values with String() or JSON.stringify()';
  if (!isJsonObject(metadata)) throw new LoraFuseError('INVALID_OPTION', `safetensors metadata must be an object of strings; ${fix}.`);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new LoraFuseError('INVALID_OPTION', `safetensors metadata "${key}" is a ${value === null ? 'null' : typeof value}, not a string; ${fix}.`, {
        details: { key },
      });
    }
  }
  return metadata;
}
