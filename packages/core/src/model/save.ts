import { LoraFuseError } from '../errors/index.js';
import type { WritableFolder } from '../io/index.js';
import { writeSafetensors } from '../io/safetensors/index.js';
import type { Tensor } from '../tensor/index.js';
import { MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE } from './open.js';
import type { ModelConfig } from './types.js';
import { expectedModelWeights } from './weights.js';

/**
 * Writes a Hugging Face model folder that transformers and
 * {@link openModelFolder} load: `model.safetensors` with every weight
 * `config` needs, in layer order and in each tensor's own dtype (metadata
 * `{"format": "pt"}`; other tensors of `weights` are not written), then
 * `config.json` (`config.raw`). Each file is replaced atomically, and the
 * config goes last, so a folder with a `config.json` is complete. Throws
 * `MODEL_WEIGHTS_MISSING` or `SHAPE_MISMATCH` before writing anything when
 * `weights` does not fit `config`.
 */
export async function saveModelFolder(folder: WritableFolder, config: ModelConfig, weights: ReadonlyMap<string, Tensor>): Promise<void> {
  const specs = expectedModelWeights(config);
  const missing = specs.filter((s) => !weights.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    throw new LoraFuseError(
      'MODEL_WEIGHTS_MISSING',
      `Cannot save the model: ${missing.length} weight(s) that its config requires are missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}.`,
      {
        details: { missing },
      },
    );
  }
  const tensors = specs.map((spec) => {
    const t = weights.get(spec.name)!;
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new LoraFuseError(
        'SHAPE_MISMATCH',
        `Cannot save the model: ${spec.name} has shape [${t.shape.join(', ')}] but its config implies [${spec.shape.join(', ')}].`,
        {
          details: { tensor: spec.name, shape: [...t.shape], expected: [...spec.shape] },
        },
      );
    }
    return [spec.name, t] as const;
  });
  await writeSafetensors(folder, MODEL_WEIGHTS_FILE, tensors, { format: 'pt' });
  await folder.write(MODEL_CONFIG_FILE, [new TextEncoder().encode(JSON.stringify(config.raw, null, 2) + '\n')]);
}
