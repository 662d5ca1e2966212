import type { ModelConfig } from './types.js';

const SEPARATE = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'] as const;
const FUSED = ['self_attn.qkv_proj', 'self_attn.o_proj', 'mlp.gate_up_proj', 'mlp.down_proj'] as const;

/**
 * The LoRA-adaptable linear projections of every layer, as paths under
 * `model.layers.<i>.` (e.g. `self_attn.q_proj`): the seven of Llama-family
 * layers, or Phi-3's four with q/k/v and gate/up fused.
 */
export function layerProjections(config: Pick<ModelConfig, 'fusedProjections'>): readonly string[] {
  return config.fusedProjections ? FUSED : SEPARATE;
}

/**
 * The names PEFT's `target_modules` selects those projections by
 * (`q_proj` … `down_proj`, or `qkv_proj`, `o_proj`, `gate_up_proj`,
 * `down_proj` for Phi-3): what `lorafuse info` lists and `--targets` takes.
 */
export function loraTargetNames(config: Pick<ModelConfig, 'fusedProjections'>): string[] {
  return layerProjections(config).map((path) => path.slice(path.indexOf('.') + 1));
}
