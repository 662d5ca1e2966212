import type { DeviceTensor } from '../backend/device-tensor.js';
import type { LoraAdapter, LoraModule } from '../adapter/index.js';
import { LoraFuseError } from '../errors/index.js';
import { isFloatDType, type Tensor } from '../tensor/index.js';
import type { PruneCallOptions, Pruner, PruneReport } from './pruner.js';
import type { PrunableModule } from './types.js';

/** Activation statistics of one module, on the host. */
export interface ModuleNorms {
  /** `[in]`: ‖X_j‖₂ per input feature. */
  readonly inputNorms?: Tensor;
  /** `[r]`: ‖(A·X)_k‖₂ per LoRA hidden feature. */
  readonly hiddenNorms?: Tensor;
}

/** Options of {@link pruneAdapter}. */
export interface PruneAdapterOptions extends Pick<PruneCallOptions, 'signal' | 'onProgress'> {
  /** Activation statistics by module name, for metrics that need them. */
  readonly norms?: ReadonlyMap<string, ModuleNorms>;
}

/** The pruned adapter and what the pruner did. */
export interface PruneAdapterResult {
  /** The adapter with pruned factors, each in its original dtype; config unchanged. */
  readonly adapter: LoraAdapter;
  readonly report: PruneReport;
}

const f32 = (t: Tensor): Tensor => (t.dtype === 'f32' ? t : t.castFloat('f32'));

/**
 * Prunes a host adapter once (one step of `pruner`'s schedule): uploads every
 * factor to the pruner's backend, prunes, and reads the factors back in
 * their original dtypes. The input adapter is not changed. Throws what
 * {@link Pruner.prune} throws, and `UNSUPPORTED_DTYPE` for a norm tensor
 * that is not a float.
 */
export async function pruneAdapter(pruner: Pruner, adapter: LoraAdapter, options: PruneAdapterOptions = {}): Promise<PruneAdapterResult> {
  const { backend } = pruner;
  const owned: DeviceTensor[] = [];
  const up = (t: Tensor | undefined, what: string): DeviceTensor | undefined => {
    if (!t) return undefined;
    if (!isFloatDType(t.dtype))
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `${what} is ${t.dtype}; norms must be float tensors.`, { details: { tensor: what, dtype: t.dtype } });
    const d = backend.upload(f32(t));
    owned.push(d);
    return d;
  };
  try {
    const modules = adapter.modules.map((m): PrunableModule => {
      const norms = options.norms?.get(m.name);
      return {
        name: m.name,
        a: up(m.a, `${m.name} A`)!,
        b: up(m.b, `${m.name} B`)!,
        inputNorms: up(norms?.inputNorms, `input norms of ${m.name}`),
        hiddenNorms: up(norms?.hiddenNorms, `hidden norms of ${m.name}`),
      };
    });
    const report = await pruner.prune(modules, { signal: options.signal, onProgress: options.onProgress });
    const pruned: LoraModule[] = [];
    for (const [i, m] of adapter.modules.entries()) {
      const back = async (d: DeviceTensor, like: Tensor) => {
        const t = await backend.read(d);
        return like.dtype === 'f32' ? t : t.castFloat(like.dtype as 'f16' | 'bf16');
      };
      pruned.push(Object.freeze({ ...m, a: await back(modules[i].a, m.a), b: await back(modules[i].b, m.b) }));
    }
    return { adapter: Object.freeze({ config: adapter.config, modules: Object.freeze(pruned) }), report };
  } finally {
    for (const d of owned) backend.free(d);
  }
}
