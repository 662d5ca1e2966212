import type { LoraAdapter } from '../adapter/index.js';
import { LoraFuseError } from '../errors/index.js';
import type { ModelConfig } from './types.js';
import { expectedModelWeights } from './weights.js';

/**
 * Checks that every LoRA module of `adapter` adapts a linear projection of
 * a model with `config`, with factors of its shape (A `[r, in]`, B
 * `[out, r]` for a weight `[out, in]`); reads no weight, so it can run before
 * a large model is loaded. Throws `ADAPTER_MODEL_MISMATCH` naming `label`
 * (the adapter's folder, say) and the first module that does not fit.
 */
export function checkAdapterFits(config: ModelConfig, adapter: LoraAdapter, label: string): void {
  const shapes = new Map(expectedModelWeights(config).map((w) => [w.name, w.shape]));
  for (const m of adapter.modules) {
    const weight = shapes.get(`${m.name}.weight`);
    const fail = (why: string) => {
      throw new LoraFuseError('ADAPTER_MODEL_MISMATCH', `${label}: ${m.name} ${why}; was the adapter trained on this base model (${config.architecture})?`, {
        details: { adapter: label, module: m.name },
      });
    };
    if (weight?.length !== 2) fail('is not a linear projection of the model');
    const [out, inp] = weight!;
    const [rows] = m.b.shape;
    const cols = m.a.shape[1];
    if (rows !== out || cols !== inp) fail(`adapts a ${rows} × ${cols} weight, but the model's is ${out} × ${inp}`);
  }
}
