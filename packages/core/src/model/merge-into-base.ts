import type { LoraAdapter, LoraModule } from '../adapter/index.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { Tensor } from '../tensor/index.js';
import type { ModelCheckpoint } from './types.js';
import { expectedModelWeights } from './weights.js';

/** Options of {@link mergeIntoBase}. */
export interface MergeIntoBaseOptions {
  /** Checked before each weight: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each weight is read (and merged when adapted). */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
}

/**
 * Folds LoRA adapters into a model's weights, as PEFT's `merge_and_unload`
 * does: every adapted projection becomes `W0 + Σ s·B·A`, summed in float64,
 * rounded to f32 and, for f16/bf16 weights, on to `W0`'s dtype (round to nearest even); other
 * weights are passed through untouched. Returns every weight the model needs,
 * ready for {@link saveModelFolder}, which writes a plain Hugging Face
 * checkpoint that needs no adapter. Holds all weights in memory. Throws
 * `MERGE_INCOMPATIBLE` for a module that is not a weight of the model and
 * `SHAPE_MISMATCH` for factors that do not fit it.
 */
export async function mergeIntoBase(
  checkpoint: ModelCheckpoint,
  adapters: readonly LoraAdapter[],
  options: MergeIntoBaseOptions = {},
): Promise<Map<string, Tensor>> {
  const specs = expectedModelWeights(checkpoint.config);
  const byWeight = new Map<string, LoraModule[]>();
  for (const adapter of adapters) {
    for (const m of adapter.modules) {
      const name = `${m.name}.weight`;
      const spec = specs.find((s) => s.name === name);
      if (!spec)
        throw new LoraFuseError(
          'MERGE_INCOMPATIBLE',
          `Adapter module ${m.name} is not a linear layer of this model; merge adapters trained on this base model only.`,
          { details: { module: m.name } },
        );
      const [out, inDim] = spec.shape;
      if (m.b.shape[0] !== out || m.a.shape[1] !== inDim) {
        throw new LoraFuseError(
          'SHAPE_MISMATCH',
          `Adapter module ${m.name} maps ${m.a.shape[1]} → ${m.b.shape[0]} features but the model's weight is [${out}, ${inDim}].`,
          {
            details: { module: m.name, a: [...m.a.shape], b: [...m.b.shape], weight: [...spec.shape] },
          },
        );
      }
      byWeight.set(name, [...(byWeight.get(name) ?? []), m]);
    }
  }
  const merged = new Map<string, Tensor>();
  for (const [i, spec] of specs.entries()) {
    throwIfAborted(options.signal);
    const base = await checkpoint.weights.read(spec.name, options.signal);
    const modules = byWeight.get(spec.name);
    merged.set(spec.name, modules ? addDeltas(base, modules) : base);
    options.onProgress?.({ done: i + 1, total: specs.length });
  }
  return merged;
}

/** `W0 + Σ s·B·A` in float64, rounded to f32 and then to `W0`'s dtype. */
function addDeltas(base: Tensor, modules: readonly LoraModule[]): Tensor {
  const [out, inDim] = base.shape;
  const w = Float64Array.from(base.toFloat32());
  for (const m of modules) {
    const a = m.a.toFloat32();
    const b = m.b.toFloat32();
    const r = m.a.shape[0];
    for (let i = 0; i < out; i++) {
      for (let k = 0; k < r; k++) {
        const sb = m.scaling * b[i * r + k];
        if (sb === 0) continue;
        for (let j = 0; j < inDim; j++) w[i * inDim + j] += sb * a[k * inDim + j];
      }
    }
  }
  const f32 = Tensor.f32(base.shape, Float32Array.from(w));
  return base.dtype === 'f32' ? f32 : f32.castFloat(base.dtype as 'f16' | 'bf16');
}
