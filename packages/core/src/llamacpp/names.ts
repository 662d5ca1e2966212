// How llama.cpp's converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py)
// name and lay out the weights of the Hugging Face families LoRAFuse runs.
import type { ModelType } from '../model/index.js';

/** Per model family: the GGUF `general.architecture`, and whether its q/k rows are reordered for llama.cpp's RoPE. */
export const GGUF_ARCHITECTURES: Readonly<Partial<Record<ModelType, { readonly architecture: string; readonly ropeRowsPermuted: boolean }>>> = {
  // Llama files use llama.cpp's interleaved RoPE, so the converter reorders q/k rows; Mistral converts as Llama.
  llama: { architecture: 'llama', ropeRowsPermuted: true },
  mistral: { architecture: 'llama', ropeRowsPermuted: true },
  // Qwen2 files use the NeoX RoPE, which is Hugging Face's rotate_half: rows stay as they are.
  qwen2: { architecture: 'qwen2', ropeRowsPermuted: false },
  // Qwen3 too (its q/k norms are not LoRA targets).
  qwen3: { architecture: 'qwen3', ropeRowsPermuted: false },
};

/** The GGUF base name of each projection a LoRA module may adapt (the gguf package's TensorNameMap). */
const PROJECTIONS: Readonly<Record<string, string>> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
};

/** The projections, by their Hugging Face names, that a GGUF LoRA adapter may adapt. */
export const GGUF_LORA_TARGETS: readonly string[] = Object.freeze(Object.keys(PROJECTIONS).map((p) => p.split('.')[1]));

const MODULE = /^model\.layers\.(\d+)\.((?:self_attn|mlp)\.[a-z]+_proj)$/;

/**
 * The name llama.cpp gives the weight of Hugging Face module `module`
 * (`model.layers.3.self_attn.q_proj` → `blk.3.attn_q.weight`), or
 * `undefined` for a module that is not one of a decoder layer's projections.
 */
export function ggufWeightName(module: string): string | undefined {
  const match = MODULE.exec(module);
  const projection = match && PROJECTIONS[match[2]];
  return projection ? `blk.${Number(match[1])}.${projection}.weight` : undefined;
}

/**
 * Reorders the rows of a q or k projection output as llama.cpp's Llama
 * converter does: within each of `heads` heads of `headDim` rows, rows
 * `[0, headDim/2)` and `[headDim/2, headDim)` become the even and the odd
 * rows (Hugging Face's rotate_half pairs to llama.cpp's interleaved pairs).
 * `data` is row-major `[heads · headDim, cols]`; returns a new array.
 */
export function interleaveRopeRows(data: Float32Array, heads: number, cols: number): Float32Array {
  const rows = data.length / cols;
  const half = rows / heads / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const from = (h * 2 * half + s * half + i) * cols;
        const to = (h * 2 * half + 2 * i + s) * cols;
        out.set(data.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}
