import { createAdapterConfig, createLoraModule, isTargetModule, moduleHyperparameters, type AdapterConfig, type LoraAdapter } from '../adapter/index.js';
import type { Backend } from '../backend/backend.js';
import { LoraFuseError } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import { philoxUniform, rngStreamId } from '../reference/philox.js';
import { Tensor } from '../tensor/index.js';

/** Options of {@link initLoraAdapter}. */
export interface InitLoraOptions {
  /** LoRA rank (default 8). */
  readonly r?: number;
  /** LoRA alpha (default 2·r). */
  readonly alpha?: number;
  /** Module names or suffixes, as PEFT's `target_modules` (default q_proj, v_proj). */
  readonly targets?: readonly string[];
  /** Seed of A's Philox stream (default 0). */
  readonly seed?: number;
}

/**
 * A new LoRA adapter for the linear layers of `weights` (base-model tensor
 * names to `[out, in]` shapes) that the targets select, initialised as PEFT
 * does by default: A from Kaiming-uniform with `a = √5`, i.e.
 * `U(−1/√in, 1/√in)` (drawn from the Philox stream of `seed` and
 * `<module>.lora_A`), and B zero, so the adapted model starts as the base
 * model. Throws `INVALID_OPTION` when no module matches.
 */
export function initLoraAdapter(weights: ReadonlyMap<string, { readonly shape: readonly number[] }>, options: InitLoraOptions = {}): LoraAdapter {
  const r = options.r ?? 8;
  const config: AdapterConfig = createAdapterConfig({ r, loraAlpha: options.alpha ?? 2 * r, targetModules: [...(options.targets ?? ['q_proj', 'v_proj'])] });
  const seed = options.seed ?? 0;
  const linears = [...weights]
    .filter(([name, t]) => name.endsWith('.weight') && t.shape.length === 2 && name !== 'model.embed_tokens.weight' && name !== 'lm_head.weight')
    .map(([name, t]) => [name.slice(0, -'.weight'.length), t.shape] as const);
  const modules = linears
    .filter(([name]) => isTargetModule(config, name))
    .map(([name, [out, inFeatures]]) => {
      const rank = moduleHyperparameters(config, name).rank;
      const bound = 1 / Math.sqrt(inFeatures);
      const stream = rngStreamId(`${name}.lora_A`);
      const a = Tensor.f32(
        [rank, inFeatures],
        Float32Array.from({ length: rank * inFeatures }, (_, i) => (2 * philoxUniform(seed, stream, i) - 1) * bound),
      );
      return createLoraModule(config, name, a, new Tensor('f32', [out, rank]));
    });
  if (modules.length === 0) {
    const names = [...new Set(linears.map(([name]) => name.slice(name.lastIndexOf('.') + 1)))];
    throw new LoraFuseError(
      'INVALID_OPTION',
      `No linear layer of the model matches the LoRA targets ${JSON.stringify(config.targetModules)}; its projections are ${names.join(', ')}.`,
      { details: { targets: config.targetModules, projections: names } },
    );
  }
  return { config, modules };
}

/** Reads a trained device adapter back into a host adapter with `config` (for {@link saveAdapter}). */
export async function downloadAdapter(backend: Backend, device: DeviceAdapter, config: AdapterConfig): Promise<LoraAdapter> {
  const modules = [];
  for (const m of device.modules) modules.push(createLoraModule(config, m.name, await backend.read(m.a), await backend.read(m.b)));
  return { config, modules };
}
