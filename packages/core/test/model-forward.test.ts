// The fixture logits (PyTorch, float32) against a float64 forward pass
// written here from the Hugging Face Llama definition, on the weights and
// config LoRAFuse loads. It checks that config fields (GQA, head_dim, RoPE
// theta and Llama 3 scaling, q/k/v biases, tied embeddings) and adapter
// scaling mean here what they mean in transformers and PEFT.
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, loadAdapter, openModelFolder, type LoraAdapter, type ModelConfig, type Tensor, type TensorStore } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';

const f64 = (t: Tensor) => Float64Array.from(t.toFloat32());

/** y[s, o] = Σ_i x[s, i]·W[o, i] + bias[o]. */
function linear(x: Float64Array, rows: number, w: Float64Array, out: number, bias?: Float64Array): Float64Array {
  const inF = w.length / out;
  const y = new Float64Array(rows * out);
  for (let s = 0; s < rows; s++) {
    for (let o = 0; o < out; o++) {
      let acc = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) acc += x[s * inF + i] * w[o * inF + i];
      y[s * out + o] = acc;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, rows: number, w: Float64Array, eps: number): Float64Array {
  const h = w.length;
  const y = new Float64Array(x.length);
  for (let s = 0; s < rows; s++) {
    let ms = 0;
    for (let i = 0; i < h; i++) ms += x[s * h + i] ** 2;
    const r = 1 / Math.sqrt(ms / h + eps);
    for (let i = 0; i < h; i++) y[s * h + i] = w[i] * x[s * h + i] * r;
  }
  return y;
}

/** Inverse RoPE frequencies, with Llama 3's rescaling when configured (transformers' _compute_llama3_parameters). */
function inverseFrequencies(c: ModelConfig): Float64Array {
  const d = c.headDim;
  const inv = Float64Array.from({ length: d / 2 }, (_, k) => 1 / c.ropeTheta ** ((2 * k) / d));
  const s = c.ropeScaling;
  if (s.type === 'default') return inv;
  if (s.type !== 'llama3') throw new Error(`no float64 forward for ${s.type} RoPE here`);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** Rotates each head of x [seq, heads·d] in place (rotate_half convention). */
function rope(x: Float64Array, seq: number, heads: number, d: number, inv: Float64Array): void {
  const half = d / 2;
  for (let s = 0; s < seq; s++) {
    for (let h = 0; h < heads; h++) {
      const o = (s * heads + h) * d;
      for (let k = 0; k < half; k++) {
        const cos = Math.cos(s * inv[k]);
        const sin = Math.sin(s * inv[k]);
        const a = x[o + k];
        const b = x[o + k + half];
        x[o + k] = a * cos - b * sin;
        x[o + k + half] = b * cos + a * sin;
      }
    }
  }
}

/** Causal grouped-query attention: query head h reads KV head floor(h / (H / KV)). */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, seq: number, c: ModelConfig): Float64Array {
  const { numAttentionHeads: H, numKeyValueHeads: KV, headDim: d } = c;
  const out = new Float64Array(seq * H * d);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / KV));
    for (let i = 0; i < seq; i++) {
      const scores = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += q[(i * H + h) * d + t] * k[(j * KV + g) * d + t];
        return dot / Math.sqrt(d);
      });
      const max = Math.max(...scores);
      const p = scores.map((x) => Math.exp(x - max));
      const z = p.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) for (let t = 0; t < d; t++) out[(i * H + h) * d + t] += (p[j] / z) * v[(j * KV + g) * d + t];
    }
  }
  return out;
}

/** Base weights in float64, with each LoRA module merged in as W + scaling·B·A. */
async function loadWeights(weights: TensorStore, adapter?: LoraAdapter): Promise<(name: string) => Float64Array> {
  const cache = new Map<string, Float64Array>();
  for (const t of weights.tensors) cache.set(t.name, f64(await weights.read(t.name)));
  for (const m of adapter?.modules ?? []) {
    const w = cache.get(`${m.name}.weight`)!;
    const [r, inF] = m.a.shape;
    const out = m.b.shape[0];
    const a = f64(m.a);
    const b = f64(m.b);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += b[o * r + k] * a[k * inF + i];
        w[o * inF + i] += m.scaling * acc;
      }
    }
  }
  return (name) => cache.get(name)!;
}

async function forward(folder: string, tokens: number[], adapterFolder?: string, override: Partial<ModelConfig> = {}): Promise<Float64Array> {
  const { config, weights } = await openModelFolder(fixtureFolder(folder));
  const c = { ...config, ...override };
  const adapter = adapterFolder ? await loadAdapter(fixtureFolder(adapterFolder)) : undefined;
  const W = await loadWeights(weights, adapter);
  const bias = (name: string) => (weights.has(`${name}.bias`) ? W(`${name}.bias`) : undefined);
  const { hiddenSize: h, numAttentionHeads: H, numKeyValueHeads: KV, headDim: d, intermediateSize: ffn, vocabSize: V } = c;
  const seq = tokens.length;
  const emb = W('model.embed_tokens.weight');
  let x = new Float64Array(seq * h);
  tokens.forEach((t, s) => {
    x.set(emb.subarray(t * h, (t + 1) * h), s * h);
  });
  const inv = inverseFrequencies(c);
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}`;
    const n1 = rmsNorm(x, seq, W(`${p}.input_layernorm.weight`), c.rmsNormEps);
    const proj = (name: string, out: number) => linear(n1, seq, W(`${p}.self_attn.${name}.weight`), out, bias(`${p}.self_attn.${name}`));
    const q = proj('q_proj', H * d);
    const k = proj('k_proj', KV * d);
    const v = proj('v_proj', KV * d);
    rope(q, seq, H, d, inv);
    rope(k, seq, KV, d, inv);
    const o = linear(attention(q, k, v, seq, c), seq, W(`${p}.self_attn.o_proj.weight`), h, bias(`${p}.self_attn.o_proj`));
    x = x.map((xi, i) => xi + o[i]);
    const n2 = rmsNorm(x, seq, W(`${p}.post_attention_layernorm.weight`), c.rmsNormEps);
    const gate = linear(n2, seq, W(`${p}.mlp.gate_proj.weight`), ffn);
    const up = linear(n2, seq, W(`${p}.mlp.up_proj.weight`), ffn);
    const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
    const down = linear(act, seq, W(`${p}.mlp.down_proj.weight`), h);
    x = x.map((xi, i) => xi + down[i]);
  }
  const head = c.tieWordEmbeddings ? emb : W('lm_head.weight');
  return linear(rmsNorm(x, seq, W('model.norm.weight'), c.rmsNormEps), seq, head, V);
}

async function logitsFixture(name: string): Promise<{ tokens: number[]; logits: Map<string, Float32Array> }> {
  const file = await SafetensorsFile.open(await nodeFolder(FIXTURES).open(`${name}.logits.safetensors`));
  const ids = await file.read('input_ids');
  const logits = new Map<string, Float32Array>();
  for (const t of file.tensors) if (t.name.startsWith('logits')) logits.set(t.name, (await file.read(t.name)).toFloat32());
  return { tokens: Array.from(ids.data as BigInt64Array, Number), logits };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// DESIGN §4: model logits within 1e-4 of PyTorch.
const TOLERANCE = 1e-4;

describe('fixture logits against a float64 forward pass', () => {
  const cases: Array<[string, string, string, string?]> = [
    ['Llama', 'llama-tiny', 'logits'],
    ['Llama + LoRA r=8 on q,v', 'llama-tiny', 'logits_lora_qv_r8', 'lora-qv-r8'],
    ['Llama + LoRA on all seven projections', 'llama-tiny', 'logits_lora_all7', 'lora-all7'],
    ['Llama with Llama 3 RoPE scaling', 'llama3-rope-tiny', 'logits'],
    ['Qwen2 (q/k/v biases, tied embeddings)', 'qwen2-tiny', 'logits'],
    ['Qwen2 + LoRA', 'qwen2-tiny', 'logits_lora_qwen2', 'lora-qwen2'],
    ['Mistral', 'mistral-tiny', 'logits'],
  ];
  it.each(cases.map(([name, model, key, adapter]) => ({ name, model, key, adapter })))('$name', async ({ model, key, adapter }) => {
    const { tokens, logits } = await logitsFixture(model);
    const expected = logits.get(key)!;
    const mine = await forward(model, tokens, adapter);
    expect(mine.length).toBe(expected.length);
    expect(maxAbsDiff(mine, expected)).toBeLessThanOrEqual(TOLERANCE);
    // The check is sharp: the adapter (or its absence) moves the logits far more than the tolerance.
    const other = [...logits.keys()].find((k) => k !== key);
    if (other) expect(maxAbsDiff(logits.get(other)!, expected)).toBeGreaterThan(1000 * TOLERANCE);
  });

  it('would catch Llama 3 RoPE scaling read as plain RoPE', async () => {
    const { tokens, logits } = await logitsFixture('llama3-rope-tiny');
    const plain = await forward('llama3-rope-tiny', tokens, undefined, { ropeScaling: { type: 'default' } });
    expect(maxAbsDiff(plain, logits.get('logits')!)).toBeGreaterThan(1000 * TOLERANCE);
  });
});
