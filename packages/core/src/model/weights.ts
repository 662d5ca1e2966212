import { LoraFuseError } from '../errors/index.js';
import type { TensorStore } from '../io/safetensors/index.js';
import { isFloatDType } from '../tensor/index.js';
import type { ModelConfig } from './types.js';

/** A weight a model needs: its Hugging Face name and shape. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * Every weight a causal LM with `config` needs, with its shape, in layer
 * order. Linear weights are `[out, in]` as PyTorch stores them;
 * `lm_head.weight` is absent when embeddings are tied. Phi-3 stores q/k/v
 * as one `qkv_proj` (rows q, then k, then v) and gate/up as one
 * `gate_up_proj` (gate rows first); Qwen3 and Gemma 3 add per-head
 * `q_norm`/`k_norm` weights, Gemma 3 its pre- and post-feedforward norms.
 */
export function expectedModelWeights(config: ModelConfig): WeightSpec[] {
  const { hiddenSize: h, intermediateSize: ffn, vocabSize: v, numAttentionHeads, numKeyValueHeads, headDim } = config;
  const q = numAttentionHeads * headDim;
  const kv = numKeyValueHeads * headDim;
  const specs: WeightSpec[] = [{ name: 'model.embed_tokens.weight', shape: [v, h] }];
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp] });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out] });
  };
  const norm = (name: string, size = h) => specs.push({ name: `${name}.weight`, shape: [size] });
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm`);
    if (config.fusedProjections) linear(`${p}.self_attn.qkv_proj`, q + 2 * kv, h, false);
    else {
      linear(`${p}.self_attn.q_proj`, q, h, config.qkvBias);
      linear(`${p}.self_attn.k_proj`, kv, h, config.qkvBias);
      linear(`${p}.self_attn.v_proj`, kv, h, config.qkvBias);
    }
    linear(`${p}.self_attn.o_proj`, h, q, config.outputBias);
    if (config.qkNorm) {
      norm(`${p}.self_attn.q_norm`, headDim);
      norm(`${p}.self_attn.k_norm`, headDim);
    }
    norm(`${p}.post_attention_layernorm`);
    if (config.gemmaNorms) {
      norm(`${p}.pre_feedforward_layernorm`);
      norm(`${p}.post_feedforward_layernorm`);
    }
    if (config.fusedProjections) linear(`${p}.mlp.gate_up_proj`, 2 * ffn, h, false);
    else {
      linear(`${p}.mlp.gate_proj`, ffn, h, config.mlpBias);
      linear(`${p}.mlp.up_proj`, ffn, h, config.mlpBias);
    }
    linear(`${p}.mlp.down_proj`, h, ffn, config.mlpBias);
  }
  norm('model.norm');
  if (!config.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [v, h] });
  return specs;
}

/**
 * Checks that `weights` holds every weight `config` needs as a float tensor
 * of the right shape (other tensors are tolerated). Throws
 * `MODEL_WEIGHTS_MISSING`, `SHAPE_MISMATCH` or `UNSUPPORTED_DTYPE`; `where`
 * names the folder.
 */
export function checkModelWeights(weights: TensorStore, config: ModelConfig, where: string): void {
  const specs = expectedModelWeights(config);
  const missing = specs.filter((s) => !weights.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    const some = missing.slice(0, 5).join(', ');
    throw new LoraFuseError(
      'MODEL_WEIGHTS_MISSING',
      `${where} lacks ${missing.length} weight(s) that config.json requires: ${some}${missing.length > 5 ? ', …' : ''}.`,
      {
        details: { missing },
      },
    );
  }
  for (const spec of specs) {
    const info = weights.info(spec.name);
    if (info.shape.length !== spec.shape.length || info.shape.some((d, i) => d !== spec.shape[i])) {
      throw new LoraFuseError(
        'SHAPE_MISMATCH',
        `${where}: ${spec.name} has shape [${info.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}].`,
        {
          details: { tensor: spec.name, shape: [...info.shape], expected: [...spec.shape] },
        },
      );
    }
    if (info.dtype === undefined || !isFloatDType(info.dtype)) {
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `${where}: ${spec.name} is ${info.fileDtype}; model weights must be F32, F16 or BF16.`, {
        details: { tensor: spec.name, dtype: info.fileDtype },
      });
    }
  }
}
