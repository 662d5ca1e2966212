import { LoraFuseError } from '../errors/index.js';
import { bytesSource, concatBytes } from '../io/index.js';
import { encodeSafetensors, SafetensorsFile } from '../io/safetensors/index.js';
import { philoxNormal, rngStreamId } from '../reference/philox.js';
import { Tensor } from '../tensor/index.js';
import type { ModelCheckpoint, ModelConfig } from './types.js';
import { expectedModelWeights } from './weights.js';

/** Options of {@link initModelCheckpoint}. */
export interface InitModelOptions {
  /** Seed of the Philox streams (default 0). */
  readonly seed?: number;
  /**
   * Standard deviation of the matrices; default the config's
   * `initializer_range`, else 0.02 (the transformers default).
   */
  readonly std?: number;
}

/**
 * A freshly initialised checkpoint for `config`, as transformers'
 * `LlamaPreTrainedModel._init_weights` does it: every matrix (embedding,
 * projections, `lm_head`) from `normal(0, std)`, RMSNorm weights one
 * (zero for Gemma's `1 + weight` norms, as `Gemma3PreTrainedModel` does) and
 * biases zero, all f32. Each tensor draws from the Philox normal stream of
 * `seed` and its Hugging Face name, so the same seed gives the same model on
 * every machine. The weights live in memory as one safetensors file, read
 * like any checkpoint (e.g. by `CausalLM.load`). Throws `INVALID_OPTION` for
 * a negative or non-finite `std`.
 */
export async function initModelCheckpoint(config: ModelConfig, options: InitModelOptions = {}): Promise<ModelCheckpoint> {
  const seed = options.seed ?? 0;
  const configured = config.raw.initializer_range;
  const std = options.std ?? (typeof configured === 'number' ? configured : 0.02);
  if (!Number.isFinite(std) || std < 0)
    throw new LoraFuseError('INVALID_OPTION', `The initialisation's std must be a finite number ≥ 0; got ${std}.`, { details: { std } });
  const tensors = expectedModelWeights(config).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (shape.length === 2) {
      const stream = rngStreamId(name);
      for (let i = 0; i < size; i++) values[i] = std * philoxNormal(seed, stream, i);
    } else if (name.endsWith('norm.weight')) values.fill(config.gemmaNorms ? 0 : 1);
    return [name, new Tensor('f32', shape, values)] as const;
  });
  const bytes = concatBytes(encodeSafetensors(tensors, { format: 'pt' }));
  const weights = await SafetensorsFile.open(bytesSource(bytes, `<initialised ${config.architecture}>`));
  return Object.freeze({ config, weights });
}
