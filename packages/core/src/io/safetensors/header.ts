import { LoraFuseError, type ErrorCode } from '../../errors/index.js';
import { isJsonObject, parseJsonBytes } from '../text.js';
import { fileDTypeBytes, isSafetensorsDType, loadedDType } from './dtypes.js';
import type { SafetensorsLimits, TensorInfo } from './types.js';

/** Defaults of {@link SafetensorsLimits}. */
export const DEFAULT_SAFETENSORS_LIMITS = Object.freeze({ maxHeaderBytes: 100 * 1024 * 1024, maxTensors: 100_000, maxRank: 8 });

/** The metadata and tensors a header describes. */
export interface ParsedHeader {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly TensorInfo[];
}

const METADATA_KEY = '__metadata__';
const FIX = 'The file is corrupt or was not written as safetensors; re-export or re-download it.';

function fail(code: ErrorCode, file: string, problem: string, details: Record<string, unknown> = {}): LoraFuseError {
  return new LoraFuseError(code, `${file}: ${problem}. ${FIX}`, { details: { file, ...details } });
}

/** `limits` with defaults filled in; throws `INVALID_OPTION` for a limit that is not a non-negative integer. */
export function resolveLimits(limits: SafetensorsLimits = {}): Required<SafetensorsLimits> {
  const resolved: Omit<Required<SafetensorsLimits>, 'json'> = { ...DEFAULT_SAFETENSORS_LIMITS };
  for (const key of ['maxHeaderBytes', 'maxTensors', 'maxRank'] as const) {
    const value = limits[key] ?? resolved[key];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new LoraFuseError('INVALID_OPTION', `safetensors limit ${key} must be a non-negative integer, got ${String(value)}.`, {
        details: { [key]: value },
      });
    }
    resolved[key] = value;
  }
  return { ...resolved, json: { maxBytes: resolved.maxHeaderBytes, ...limits.json } };
}

/**
 * The header length from the 8-byte little-endian prefix, checked against
 * the cap and against the bytes the file really holds before anything of
 * that size is read, so a lying prefix cannot make us allocate.
 */
export function headerLength(prefix: Uint8Array, file: string, fileSize: number, limits: Required<SafetensorsLimits>): number {
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(limits.maxHeaderBytes)) {
    throw new LoraFuseError(
      'SAFETENSORS_HEADER_TOO_LARGE',
      `${file}: the header claims ${n} bytes, over the ${limits.maxHeaderBytes}-byte limit. Raise limits.maxHeaderBytes only if you trust the file.`,
      {
        details: { file, headerBytes: n.toString(), maxHeaderBytes: limits.maxHeaderBytes },
      },
    );
  }
  if (n > BigInt(fileSize - 8)) {
    throw fail('SAFETENSORS_HEADER_TRUNCATED', file, `the header claims ${n} bytes but only ${fileSize - 8} follow the length prefix`, {
      headerBytes: Number(n),
      fileSize,
    });
  }
  return Number(n);
}

/**
 * Parses and validates a header. `dataSize` is the byte size of the data
 * section that follows it.
 *
 * Offsets follow the reference Rust `safetensors` crate (`Metadata::validate`
 * and `MetadataIncompleteBuffer`): sorted by begin, the spans must tile the
 * data section exactly, from 0 to its last byte, with no holes, overlaps or
 * trailing bytes. Unlike the crate, which keeps the last of duplicate names
 * silently, duplicate names are rejected.
 */
export function parseHeader(bytes: Uint8Array, file: string, dataSize: number, limits: Required<SafetensorsLimits>): ParsedHeader {
  const what = `${file} (safetensors header)`;
  const json = parseJsonBytes(bytes, what, limits.json);
  if (!isJsonObject(json)) {
    throw fail(
      'SAFETENSORS_HEADER_INVALID',
      file,
      `the header is ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}, not a JSON object`,
    );
  }
  // The text was decoded fine by parseJsonBytes, so decoding again cannot fail.
  const keys = topLevelKeys(new TextDecoder().decode(bytes));
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw fail('SAFETENSORS_DUPLICATE_TENSOR', file, `the header lists "${key}" twice`, { tensor: key });
    seen.add(key);
  }
  const names = keys.filter((k) => k !== METADATA_KEY);
  if (names.length > limits.maxTensors) {
    throw new LoraFuseError(
      'SAFETENSORS_TOO_MANY_TENSORS',
      `${file}: the header lists ${names.length} tensors, over the limit of ${limits.maxTensors}. Raise limits.maxTensors only if you trust the file.`,
      {
        details: { file, tensors: names.length, maxTensors: limits.maxTensors },
      },
    );
  }
  const tensors = names.map((name) => parseEntry(json[name], name, file, dataSize, limits.maxRank));
  checkTiling(tensors, file, dataSize);
  return { metadata: parseMetadata(json[METADATA_KEY], file), tensors };
}

function parseMetadata(value: unknown, file: string): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (!isJsonObject(value)) throw fail('SAFETENSORS_HEADER_INVALID', file, `"${METADATA_KEY}" must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw fail('SAFETENSORS_HEADER_INVALID', file, `"${METADATA_KEY}" entry "${key}" is a ${v === null ? 'null' : typeof v}, not a string`, { key });
  }
  return Object.freeze(value as Record<string, string>);
}

function parseEntry(entry: unknown, name: string, file: string, dataSize: number, maxRank: number): TensorInfo {
  const bad = (code: ErrorCode, problem: string, details: Record<string, unknown> = {}) =>
    fail(code, file, `tensor "${name}" ${problem}`, { tensor: name, ...details });
  if (!isJsonObject(entry)) throw bad('SAFETENSORS_HEADER_INVALID', 'is not an object of {dtype, shape, data_offsets}');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') throw bad('SAFETENSORS_HEADER_INVALID', 'has no string "dtype"');
  if (!isSafetensorsDType(dtype)) throw bad('SAFETENSORS_UNKNOWN_DTYPE', `has dtype "${dtype}", which safetensors does not define`, { dtype });
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw bad('SAFETENSORS_HEADER_INVALID', 'has no "shape" array of numbers');
  if (shape.length > maxRank) throw bad('SAFETENSORS_INVALID_SHAPE', `has ${shape.length} dimensions, over the limit of ${maxRank}`, { rank: shape.length });
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw bad('SAFETENSORS_INVALID_SHAPE', `has shape [${shape.join(', ')}]; dimensions must be non-negative integers`, { shape });
  // BigInt keeps the products exact however large the dimensions are.
  const elements = shape.reduce((n: bigint, d: number) => n * BigInt(d), 1n);
  const bytes = elements * BigInt(fileDTypeBytes(dtype));
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER))
    throw bad('SAFETENSORS_INVALID_SHAPE', `has shape [${shape.join(', ')}], too large to address (${elements} elements)`, { shape });
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number')) {
    throw bad('SAFETENSORS_HEADER_INVALID', 'has no "data_offsets" pair [begin, end]');
  }
  const [begin, end] = offsets as [number, number];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    throw bad('SAFETENSORS_INVALID_OFFSETS', `has data_offsets [${begin}, ${end}]; they must be integers with 0 <= begin <= end`, { begin, end });
  }
  if (end > dataSize)
    throw bad('SAFETENSORS_OFFSETS_OUT_OF_BOUNDS', `ends at byte ${end} but the data section holds ${dataSize} bytes (truncated file?)`, {
      begin,
      end,
      dataSize,
    });
  if (end - begin !== Number(bytes)) {
    throw bad('SAFETENSORS_SIZE_MISMATCH', `spans ${end - begin} bytes but ${dtype}[${shape.join(', ')}] needs ${bytes}`, { dtype, shape, begin, end });
  }
  return Object.freeze({ name, fileDtype: dtype, dtype: loadedDType(dtype), shape: Object.freeze([...shape]), size: Number(elements), begin, end });
}

function checkTiling(tensors: readonly TensorInfo[], file: string, dataSize: number): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin !== at) {
      const problem =
        t.begin > at ? `leaves bytes ${at}..${t.begin} unused before it` : `starts at byte ${t.begin}, overlapping the tensor before it (which ends at ${at})`;
      throw fail('SAFETENSORS_INVALID_OFFSETS', file, `tensor "${t.name}" ${problem}; tensors must tile the data section`, {
        tensor: t.name,
        begin: t.begin,
        end: t.end,
      });
    }
    at = t.end;
  }
  if (at !== dataSize) {
    throw fail('SAFETENSORS_INVALID_OFFSETS', file, `the tensors cover ${at} bytes but the data section holds ${dataSize}; trailing bytes are not allowed`, {
      covered: at,
      dataSize,
    });
  }
}

/**
 * The keys of the top-level object of valid JSON text, in order and with
 * duplicates kept (JSON.parse keeps only the last, and reorders
 * integer-like keys).
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(start, i + 1)) as string);
      expectKey = false;
    } else if (c === 0x7b || c === 0x5b) {
      expectKey = ++depth === 1;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}
