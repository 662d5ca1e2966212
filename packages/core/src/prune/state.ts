import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tensor } from '../tensor/index.js';
import type { ImportanceState } from './types.js';

/** The device tensors metrics keep between calls, keyed by module and key; frees what it replaces. */
export class ImportanceStateStore {
  readonly #tensors = new Map<string, DeviceTensor>();

  constructor(private readonly backend: Backend) {}

  /** The {@link ImportanceState} view of one module. */
  forModule(module: string): ImportanceState {
    const full = (key: string) => `${module}\u0000${key}`;
    return {
      get: (key) => this.#tensors.get(full(key)),
      set: (key, tensor) => {
        const previous = this.#tensors.get(full(key));
        this.#tensors.set(full(key), tensor);
        if (previous && previous !== tensor) this.backend.free(previous);
      },
    };
  }

  /** Copies every stored tensor to the host, by its full key. */
  async export(): Promise<Map<string, Tensor>> {
    const out = new Map<string, Tensor>();
    for (const [key, t] of this.#tensors) out.set(key, await this.backend.read(t));
    return out;
  }

  /** Replaces the store with host tensors keyed as {@link ImportanceStateStore.export} gives them. */
  import(tensors: ReadonlyMap<string, Tensor>): void {
    this.clear();
    for (const [key, t] of tensors) this.#tensors.set(key, this.backend.upload(t));
  }

  /** Frees every stored tensor. */
  clear(): void {
    if (!this.backend.disposed) for (const t of this.#tensors.values()) this.backend.free(t);
    this.#tensors.clear();
  }
}
