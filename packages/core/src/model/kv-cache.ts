import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError } from '../errors/index.js';
import { Tensor } from '../tensor/index.js';
import type { ModelConfig } from './types.js';

/**
 * The longest sequence a model runs over: its `max_position_embeddings`
 * (sliding-window layers attend to fewer positions, but any number of
 * them).
 */
export function contextLength(config: Pick<ModelConfig, 'maxPositionEmbeddings'>): number {
  return config.maxPositionEmbeddings;
}

/**
 * The keys and values of the positions a model has already seen, per layer,
 * as f32 `[batch, length, kvHeads, headDim]` tensors (sequence-first, as
 * attention reads them with `layout: 'bshd'`) on the model's backend:
 * what {@link CausalLM.decode} attends over instead of recomputing them.
 * The cache owns its tensors; {@link KVCache.dispose} frees them (use it in
 * a `finally`).
 */
export class KVCache {
  /** The backend holding the tensors. */
  readonly backend: Backend;
  /** Most positions the cache may hold: the model's {@link contextLength}. */
  readonly capacity: number;
  readonly #keys: (DeviceTensor | undefined)[];
  readonly #values: (DeviceTensor | undefined)[];
  #length = 0;
  #disposed = false;

  /** An empty cache for a model with `config`'s layers and context. */
  constructor(backend: Backend, config: Pick<ModelConfig, 'numHiddenLayers' | 'maxPositionEmbeddings'>) {
    this.backend = backend;
    this.capacity = contextLength(config);
    this.#keys = new Array<DeviceTensor | undefined>(config.numHiddenLayers).fill(undefined);
    this.#values = new Array<DeviceTensor | undefined>(config.numHiddenLayers).fill(undefined);
  }

  /** Positions held (the next token's position). */
  get length(): number {
    return this.#length;
  }

  /** Rows of the batch, or 0 while empty. */
  get batch(): number {
    return this.#keys[0]?.shape[0] ?? 0;
  }

  /**
   * Throws `CONTEXT_EXCEEDED` unless `count` more positions fit, and
   * `INVALID_OPTION` once the cache is disposed.
   */
  checkRoom(count: number): void {
    if (this.#disposed) throw new LoraFuseError('INVALID_OPTION', 'This KV cache was disposed; start a new one.');
    if (this.#length + count > this.capacity) {
      throw new LoraFuseError(
        'CONTEXT_EXCEEDED',
        `${this.#length + count} positions exceed the model's context of ${this.capacity} tokens; shorten the prompt or generate fewer tokens.`,
        {
          details: { length: this.#length, adding: count, capacity: this.capacity },
        },
      );
    }
  }

  /**
   * Appends one layer's new keys and values (`[batch, s, kvHeads, headDim]`,
   * which the cache takes over) and returns the layer's whole keys and
   * values. {@link KVCache.advance} commits the new length after the last layer.
   */
  append(layer: number, keys: DeviceTensor, values: DeviceTensor): { keys: DeviceTensor; values: DeviceTensor } {
    const join = (store: (DeviceTensor | undefined)[], fresh: DeviceTensor) => {
      const old = store[layer];
      if (old === undefined) {
        store[layer] = fresh;
        return fresh;
      }
      store[layer] = this.backend.kernels.concat(old, fresh, 1);
      this.backend.free(old);
      this.backend.free(fresh);
      return store[layer];
    };
    return { keys: join(this.#keys, keys), values: join(this.#values, values) };
  }

  /** Records that every layer now holds `count` more positions. */
  advance(count: number): void {
    this.#length += count;
  }

  /**
   * Keeps batch rows `rows` (in that order, repeats allowed): row `i` of the
   * result is row `rows[i]` of the cache. Beam search uses it to follow the
   * surviving beams. Throws `INVALID_OPTION` for a row outside the batch.
   */
  select(rows: readonly number[]): void {
    const batch = this.batch;
    if (rows.some((r) => !Number.isInteger(r) || r < 0 || r >= batch)) {
      throw new LoraFuseError('INVALID_OPTION', `KV cache rows must be integers in [0, ${batch}); got [${rows.join(', ')}].`, {
        details: { rows: [...rows], batch },
      });
    }
    const k = this.backend.kernels;
    const ids = this.backend.upload(new Tensor('i32', [rows.length], Int32Array.from(rows)));
    // An embedding lookup over rows flattened to a table gathers them exactly.
    const gather = (t: DeviceTensor) => {
      const table = k.reshape(t, [batch, t.shape.slice(1).reduce((n, d) => n * d, 1)]);
      const picked = k.embedding(ids, table);
      const result = k.reshape(picked, [rows.length, ...t.shape.slice(1)]);
      for (const x of [t, table, picked]) this.backend.free(x);
      return result;
    };
    try {
      for (const store of [this.#keys, this.#values]) {
        for (let l = 0; l < store.length; l++) if (store[l] !== undefined) store[l] = gather(store[l]!);
      }
    } finally {
      this.backend.free(ids);
    }
  }

  /** Frees every tensor; the cache is unusable afterwards. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const store of [this.#keys, this.#values]) {
      for (let l = 0; l < store.length; l++) {
        if (store[l] !== undefined && !this.backend.disposed) this.backend.free(store[l]!);
        store[l] = undefined;
      }
    }
  }
}
