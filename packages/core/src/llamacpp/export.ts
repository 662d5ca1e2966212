import { adapterConfigToJson, type LoraAdapter, type LoraModule, parseAdapterConfig } from '../adapter/index.js';
import { compareModuleNames } from '../adapter/module.js';
import { LoraFuseError } from '../errors/index.js';
import { encodeGguf, type GgufTensor, type GgufValue } from '../io/gguf/index.js';
import { checkAdapterFits, type ModelConfig } from '../model/index.js';
import { Tensor } from '../tensor/index.js';
import { GGUF_ARCHITECTURES, GGUF_LORA_TARGETS, ggufWeightName, interleaveRopeRows } from './names.js';

/** Options of {@link exportGgufAdapter}. */
export interface GgufAdapterOptions {
  /** Dtype of the factors in the file: `f32` (default, exact) or `f16` (half the size). */
  readonly dtype?: 'f32' | 'f16';
  /** `general.name` to record (none by default). */
  readonly name?: string;
  /** Data alignment in bytes, a power of two from 8 (default 32). */
  readonly alignment?: number;
}

/** How one LoRA module went into the file. */
export interface GgufAdapterModule {
  /** The Hugging Face module, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly module: string;
  /** llama.cpp's name of the weight it adapts, e.g. `blk.0.attn_q.weight`; the factors are `<tensor>.lora_a` and `<tensor>.lora_b`. */
  readonly tensor: string;
  readonly rank: number;
  /** The module's PEFT scaling (alpha/rank, or alpha/√rank with rsLoRA). */
  readonly scaling: number;
  /** What B was multiplied by so that llama.cpp's `alpha/rank` gives this module's scaling (1: B as it is). */
  readonly fold: number;
  /** B's rows were reordered as llama.cpp's converter reorders the base's q/k rows. */
  readonly permuted: boolean;
}

/** A LoRA adapter encoded as the GGUF file llama.cpp loads (`--lora`, `llama_adapter_lora_init`). */
export interface GgufAdapterExport {
  /** `general.architecture`: the base model's, as llama.cpp names it. */
  readonly architecture: string;
  /** `adapter.lora.alpha` (stored as f32). */
  readonly alpha: number;
  /** The modules in file order. */
  readonly modules: readonly GgufAdapterModule[];
  /** The file's bytes, in order (write them one after the other). */
  readonly bytes: readonly Uint8Array[];
}

/**
 * Encodes `adapter`, trained on a model with config `model`, as a llama.cpp
 * LoRA adapter GGUF: `general.type` "adapter", `general.architecture` the
 * base's (`llama` for Llama and Mistral, `qwen2` for Qwen2), `adapter.type`
 * "lora" and `adapter.lora.alpha`; per module, tensors
 * `<llama.cpp weight name>.lora_a` holding A `[r, in]` and `.lora_b` holding
 * B `[out, r]`, as PEFT stores them. Two things differ from PEFT's tensors:
 *
 * - for Llama-family bases, the rows of q_proj's and k_proj's B are
 *   reordered as llama.cpp's converter reorders those of the base weights
 *   (its RoPE pairs dimensions differently), so `B·A` still adapts the
 *   converted weight;
 * - llama.cpp scales every module by `alpha / rank` with one alpha for the
 *   file. `adapter.lora.alpha` is the alpha that leaves the most modules
 *   exact (the most common `scaling · rank`; ties: the first module); each
 *   other module, whose scaling differs (rsLoRA, `rank_pattern`,
 *   `alpha_pattern`, merged adapters), has its B multiplied by
 *   `scaling · rank / alpha`, so that the product is PEFT's.
 *
 * Modules are written in natural name order (`layers.2` before `layers.10`).
 * Throws `ADAPTER_UNSUPPORTED` for what llama.cpp cannot express (DoRA and
 * the other PEFT variants the config refuses, modules other than the seven
 * projections of a decoder layer), `ADAPTER_MODEL_MISMATCH` when the adapter
 * does not fit the model, `MODEL_UNSUPPORTED` for a model family with no
 * llama.cpp architecture here, and `INVALID_OPTION` for bad options.
 */
export function exportGgufAdapter(adapter: LoraAdapter, model: ModelConfig, options: GgufAdapterOptions = {}): GgufAdapterExport {
  const dtype = options.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') {
    throw new LoraFuseError('INVALID_OPTION', `exportGgufAdapter: dtype must be "f32" or "f16"; got ${JSON.stringify(dtype)}.`, { details: { dtype } });
  }
  // The config check refuses DoRA and the other PEFT variants with a message naming the feature.
  parseAdapterConfig(adapterConfigToJson(adapter.config));
  const family = Object.hasOwn(GGUF_ARCHITECTURES, model.modelType) ? GGUF_ARCHITECTURES[model.modelType] : undefined;
  if (!family) {
    throw new LoraFuseError('MODEL_UNSUPPORTED', `exportGgufAdapter: no llama.cpp architecture is known for model_type "${model.modelType}".`, {
      details: { modelType: model.modelType },
    });
  }
  checkAdapterFits(model, adapter, 'exportGgufAdapter');
  const modules = [...adapter.modules].sort((x, y) => compareModuleNames(x.name, y.name));
  const targets = modules.map((m, i) => {
    if (i > 0 && modules[i - 1].name === m.name) {
      throw new LoraFuseError('INVALID_OPTION', `exportGgufAdapter: the adapter has module ${m.name} twice.`, { details: { module: m.name } });
    }
    const tensor = ggufWeightName(m.name);
    if (!tensor) {
      throw new LoraFuseError(
        'ADAPTER_UNSUPPORTED',
        `exportGgufAdapter: module ${m.name} cannot go into a llama.cpp LoRA adapter; llama.cpp adapters here cover the projections ${GGUF_LORA_TARGETS.join(', ')} of the decoder layers.`,
        { details: { module: m.name } },
      );
    }
    return tensor;
  });
  const alpha = fileAlpha(modules);
  const exported: GgufAdapterModule[] = [];
  const tensors: GgufTensor[] = [];
  modules.forEach((m, i) => {
    const heads = family.ropeRowsPermuted ? ropeHeads(m.name, model) : undefined;
    const fold = m.scaling * m.rank === alpha ? 1 : (m.scaling * m.rank) / alpha;
    tensors.push(
      { name: `${targets[i]}.lora_a`, tensor: m.a.castFloat(dtype) },
      { name: `${targets[i]}.lora_b`, tensor: loraB(m, heads, fold).castFloat(dtype) },
    );
    exported.push({ module: m.name, tensor: targets[i], rank: m.rank, scaling: m.scaling, fold, permuted: heads !== undefined });
  });
  const metadata: Array<readonly [string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: family.architecture }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'f32', value: alpha }],
  ];
  if (options.name !== undefined) metadata.push(['general.name', { type: 'string', value: options.name }]);
  const bytes = encodeGguf({ metadata, tensors, alignment: options.alignment });
  return Object.freeze({ architecture: family.architecture, alpha: Math.fround(alpha), modules: Object.freeze(exported), bytes: Object.freeze(bytes) });
}

/**
 * The file's alpha: the most common `scaling · rank` (the alpha under which
 * llama.cpp's `alpha / rank` is the module's scaling), ties going to the
 * first module. Zero is never chosen, because llama.cpp reads alpha 0 as
 * "no scaling" (a factor of 1).
 */
function fileAlpha(modules: readonly LoraModule[]): number {
  const counts = new Map<number, number>();
  for (const m of modules) {
    const exact = m.scaling * m.rank;
    if (exact !== 0 && Number.isFinite(Math.fround(exact))) counts.set(exact, (counts.get(exact) ?? 0) + 1);
  }
  let best: [number, number] = [1, 0];
  for (const entry of counts) if (entry[1] > best[1]) best = entry;
  return best[0];
}

/** For q_proj and k_proj of a Llama-family model: the head count whose rows llama.cpp reorders. */
function ropeHeads(module: string, model: ModelConfig): number | undefined {
  if (module.endsWith('.self_attn.q_proj')) return model.numAttentionHeads;
  if (module.endsWith('.self_attn.k_proj')) return model.numKeyValueHeads;
  return undefined;
}

/** B as llama.cpp needs it: rows reordered for q/k of Llama-family models, scaled by `fold`. */
function loraB(m: LoraModule, heads: number | undefined, fold: number): Tensor {
  if (heads === undefined && fold === 1) return m.b;
  const [rows, cols] = m.b.shape;
  let data = m.b.toFloat32();
  if (heads !== undefined) {
    if (rows % (2 * heads) !== 0) {
      throw new LoraFuseError('ADAPTER_MODEL_MISMATCH', `exportGgufAdapter: ${m.name} has ${rows} rows, not a whole number of ${heads} heads of even size.`, {
        details: { module: m.name, rows, heads },
      });
    }
    data = interleaveRopeRows(data, heads, cols);
  }
  if (fold !== 1) for (let i = 0; i < data.length; i++) data[i] *= fold;
  return new Tensor('f32', [rows, cols], data);
}
