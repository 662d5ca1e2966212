import { LoraFuseError, throwIfAborted } from '../../errors/index.js';
import { Tensor, copyStorage } from '../../tensor/index.js';
import type { ByteSource } from '../source.js';
import { headerLength, parseHeader, resolveLimits } from './header.js';
import type { SafetensorsLimits, TensorInfo, TensorStore } from './types.js';

/**
 * An open safetensors file. Opening reads only the length prefix and the
 * header; each {@link SafetensorsFile.read} reads only that tensor's bytes.
 */
export class SafetensorsFile implements TensorStore {
  /** Where the bytes come from. */
  readonly source: ByteSource;
  /** `__metadata__` of the header (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in header order. */
  readonly tensors: readonly TensorInfo[];
  /** Absolute offset of the data section (8 + header length). */
  readonly dataOffset: number;
  readonly #byName: ReadonlyMap<string, TensorInfo>;

  private constructor(source: ByteSource, metadata: Readonly<Record<string, string>>, tensors: readonly TensorInfo[], dataOffset: number) {
    this.source = source;
    this.metadata = metadata;
    this.tensors = Object.freeze(tensors);
    this.dataOffset = dataOffset;
    this.#byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens and validates a safetensors file. Throws a `SAFETENSORS_*` code,
   * `INVALID_UTF8`, `INVALID_JSON` or `JSON_LIMIT_EXCEEDED` for a malformed
   * file; memory use is bounded by the file's real size and `limits`.
   */
  static async open(source: ByteSource, limits?: SafetensorsLimits, signal?: AbortSignal): Promise<SafetensorsFile> {
    const resolved = resolveLimits(limits);
    throwIfAborted(signal);
    if (source.size < 8) {
      throw new LoraFuseError(
        'SAFETENSORS_TOO_SMALL',
        `${source.name}: ${source.size} bytes is too small for a safetensors file (at least the 8-byte header length). The file is truncated or not safetensors.`,
        {
          details: { file: source.name, size: source.size },
        },
      );
    }
    const n = headerLength(await source.read(0, 8, signal), source.name, source.size, resolved);
    const header = parseHeader(await source.read(8, n, signal), source.name, source.size - 8 - n, resolved);
    return new SafetensorsFile(source, header.metadata, header.tensors, 8 + n);
  }

  /** True when the file holds a tensor of that name. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The tensor's info; throws `TENSOR_NOT_FOUND`. */
  info(name: string): TensorInfo {
    const info = this.#byName.get(name);
    if (!info) throw tensorNotFound(name, this.source.name, this.tensors);
    return info;
  }

  /** Reads one tensor (only its bytes); throws `TENSOR_NOT_FOUND`, or `UNSUPPORTED_DTYPE` for dtypes LoRAFuse cannot load. */
  async read(name: string, signal?: AbortSignal): Promise<Tensor> {
    const info = this.info(name);
    if (info.dtype === undefined) {
      throw new LoraFuseError(
        'UNSUPPORTED_DTYPE',
        `${this.source.name}: tensor "${name}" is ${info.fileDtype}, which LoRAFuse cannot load; convert it to F32, F16 or BF16.`,
        {
          details: { file: this.source.name, tensor: name, dtype: info.fileDtype },
        },
      );
    }
    const bytes = await this.source.read(this.dataOffset + info.begin, info.end - info.begin, signal);
    return new Tensor(info.dtype, info.shape, copyStorage(info.dtype, bytes));
  }
}

/** The `TENSOR_NOT_FOUND` error for `name`, naming a few tensors that do exist. */
export function tensorNotFound(name: string, where: string, tensors: readonly TensorInfo[]): LoraFuseError {
  const some = tensors
    .slice(0, 5)
    .map((t) => `"${t.name}"`)
    .join(', ');
  const hint = tensors.length === 0 ? 'it holds no tensors' : `it holds ${tensors.length} tensors, e.g. ${some}`;
  return new LoraFuseError('TENSOR_NOT_FOUND', `Tensor "${name}" is not in ${where}; ${hint}. Check the tensor name.`, {
    details: { tensor: name, file: where },
  });
}
