import { Tensor } from '../tensor/index.js';
import type { ModelConfig, RopeScaling } from './types.js';

const f = Math.fround;

/**
 * RoPE inverse frequencies `[headDim / 2]` as transformers computes them in
 * float32: `1 / theta^(2i / d)`, divided by the factor of `linear`
 * scaling, rescaled as Llama 3 does (`_compute_llama3_parameters`), or
 * with LongRoPE's per-frequency factors, the long ones when the sequence
 * reaches past the pretraining length (`positions`, the last position + 1,
 * as transformers' `longrope_frequency_update` decides). Each operation
 * rounds to float32 as PyTorch's does, so the tables match its to the last
 * bit or one ulp.
 */
export function inverseFrequencies(config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>, positions = 0): Float32Array {
  const d = config.headDim;
  const power = (i: number) => f(config.ropeTheta ** f((2 * i) / d));
  const s = config.ropeScaling;
  if (s.type === 'longrope') {
    const factors = positions > s.originalMaxPositionEmbeddings ? s.longFactor : s.shortFactor;
    return Float32Array.from({ length: d / 2 }, (_, i) => f(1 / f(f(factors[i]) * power(i))));
  }
  const inv = Float32Array.from({ length: d / 2 }, (_, i) => f(1 / power(i)));
  if (s.type === 'default') return inv;
  if (s.type === 'linear') return inv.map((freq) => f(freq / f(s.factor)));
  const old = s.originalMaxPositionEmbeddings;
  const lowWavelen = old / s.lowFreqFactor;
  const highWavelen = old / s.highFreqFactor;
  return inv.map((freq) => {
    const wavelen = f(f(2 * Math.PI) / freq);
    const scaled = wavelen > lowWavelen ? f(freq / s.factor) : freq;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = f(f(f(old) / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    return f(f(f(f(1 - smooth) * scaled) / s.factor) + f(smooth * scaled));
  });
}

/** The factor transformers multiplies the cos and sin tables by: LongRoPE's attention factor, else 1. */
export function ropeAttentionScale(scaling: RopeScaling): number {
  return scaling.type === 'longrope' ? scaling.attentionFactor : 1;
}

/** The cosine and sine tables of {@link Kernels.rope}, `[seq, headDim]` f32. */
export interface RopeTables {
  readonly cos: Tensor<'f32'>;
  readonly sin: Tensor<'f32'>;
}

/**
 * RoPE tables for positions `offset … offset + seq − 1`: angle
 * `position · invFreq[i]` rounded to float32, duplicated over both halves
 * (transformers' `cat(freqs, freqs)`), cos and sin rounded to float32 and
 * multiplied by `scale` in float32 ({@link ropeAttentionScale}).
 */
export function ropeTables(invFreq: Float32Array, seq: number, offset = 0, scale = 1): RopeTables {
  const half = invFreq.length;
  const d = 2 * half;
  const cos = new Float32Array(seq * d);
  const sin = new Float32Array(seq * d);
  for (let s = 0; s < seq; s++) {
    for (let i = 0; i < half; i++) {
      const angle = f((offset + s) * invFreq[i]);
      cos[s * d + i] = cos[s * d + i + half] = scale === 1 ? Math.cos(angle) : f(f(Math.cos(angle)) * f(scale));
      sin[s * d + i] = sin[s * d + i + half] = scale === 1 ? Math.sin(angle) : f(f(Math.sin(angle)) * f(scale));
    }
  }
  return { cos: new Tensor('f32', [seq, d], cos), sin: new Tensor('f32', [seq, d], sin) };
}

/**
 * `tables` repeated for every row of a batch, `[batch · seq, 1, headDim]`:
 * the form {@link Kernels.rope} takes for sequence-first activations
 * `[batch, seq, heads, headDim]` viewed as `[batch · seq, heads, 1, headDim]`
 * (one position per "batch" row of the kernel).
 */
export function ropeTablesPerToken(tables: RopeTables, batch: number): RopeTables {
  const [seq, d] = tables.cos.shape;
  const repeat = (t: Tensor<'f32'>) => {
    const data = new Float32Array(batch * seq * d);
    for (let b = 0; b < batch; b++) data.set(t.data, b * seq * d);
    return new Tensor('f32', [batch * seq, 1, d], data);
  };
  return { cos: repeat(tables.cos), sin: repeat(tables.sin) };
}
