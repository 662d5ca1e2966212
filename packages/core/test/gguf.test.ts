// The GGUF writer and the llama.cpp LoRA export, byte for byte against files
// the `gguf` Python package's GGUFWriter wrote (fixtures/gguf, by
// scripts/fixtures/make_gguf_fixtures.py): every metadata value type, a
// custom alignment and f32/f16 tensors of 1 to 4 dimensions; and each PEFT
// fixture adapter with llama.cpp's tensor names (the package's
// TensorNameMap), Llama q/k rows permuted with numpy as llama.cpp's converter
// does, and the scaling folds derived from PEFT's own module objects.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  concatBytes,
  createAdapterConfig,
  createLoraModule,
  encodeGguf,
  exportGgufAdapter,
  type GgufContent,
  type GgufValue,
  interleaveRopeRows,
  loadAdapter,
  loadModelConfig,
  type LoraAdapter,
  type ModelConfig,
  parseModelConfig,
  Tensor,
} from '@lorafuse/core';
import { codeOf } from './error-code.js';
import { FIXTURES, fixtureFolder, GGUF_CASES } from './fixtures/index.js';

const fixtureBytes = (name: string) => new Uint8Array(readFileSync(`${FIXTURES}/gguf/${name}`));
const bytesOf = (chunks: readonly Uint8Array[]) => concatBytes([...chunks]);

/** The first differing byte, for a readable failure rather than a 10 kB diff. */
function firstDifference(ours: Uint8Array, theirs: Uint8Array): string {
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) if (ours[i] !== theirs[i]) return `byte ${i}: ${ours[i]} vs ${theirs[i]}`;
  return ours.length === theirs.length ? 'identical' : `lengths ${ours.length} vs ${theirs.length}`;
}

interface ValuesSpec {
  alignment: number;
  metadata: Array<[string, string, unknown]>;
  tensors: Array<{ name: string; dtype: 'f32' | 'f16'; shape: number[]; data: number[] }>;
}

/** values.json as GgufContent: u64/i64 come as decimal strings. */
function valuesContent(spec: ValuesSpec): GgufContent {
  const wide = (type: string, v: unknown) => (type === 'u64' || type === 'i64' ? BigInt(v as string) : v);
  const metadata = spec.metadata.map(([key, type, value]): [string, GgufValue] => {
    if (type !== 'array') return [key, { type, value: wide(type, value) } as GgufValue];
    const { itemType, values } = value as { itemType: string; values: unknown[] };
    return [key, { type: 'array', itemType, values: values.map((v) => wide(itemType, v)) } as GgufValue];
  });
  const tensors = spec.tensors.map(({ name, dtype, shape, data }) => ({ name, tensor: Tensor.f32(shape, data).castFloat(dtype) }));
  return { metadata, tensors, alignment: spec.alignment };
}

describe('encodeGguf', () => {
  const spec = JSON.parse(readFileSync(`${FIXTURES}/gguf/values.json`, 'utf8')) as ValuesSpec;

  it("writes every value type, arrays, a custom alignment and f32/f16 tensors exactly as the gguf package's GGUFWriter", () => {
    const ours = bytesOf(encodeGguf(valuesContent(spec)));
    const theirs = fixtureBytes('values.gguf');
    expect(firstDifference(ours, theirs)).toBe('identical');
    // The fixture's header outgrows the writer's first buffer (the string array alone is ~2 kB).
    expect(theirs.length).toBeGreaterThan(2048);
  });

  it('returns the tensor data as views of the tensors, padded to the alignment', () => {
    const t = Tensor.f32([3], [1, 2, 3]);
    const chunks = encodeGguf({ metadata: [], tensors: [{ name: 'x', tensor: t }] });
    expect(chunks.map((c) => c.byteLength)).toEqual([chunks[0].byteLength, 12, 20]);
    expect(chunks[0].byteLength % 32).toBe(0);
    expect(chunks[1].buffer).toBe(t.data.buffer);
    expect(chunks[2]).toEqual(new Uint8Array(20));
  });

  const base = (over: Partial<GgufContent>): GgufContent => ({ metadata: [], tensors: [], ...over });
  const str = (value: string): GgufValue => ({ type: 'string', value });
  it.each<[string, GgufContent, string]>([
    [
      'a key given twice',
      base({
        metadata: [
          ['a.b', str('x')],
          ['a.b', str('y')],
        ],
      }),
      'INVALID_OPTION',
    ],
    ['general.alignment as metadata', base({ metadata: [['general.alignment', { type: 'u32', value: 64 }]] }), 'INVALID_OPTION'],
    ['an empty key', base({ metadata: [['', str('x')]] }), 'INVALID_OPTION'],
    ['a non-ASCII key', base({ metadata: [['clé', str('x')]] }), 'INVALID_OPTION'],
    ['u8 256', base({ metadata: [['k', { type: 'u8', value: 256 }]] }), 'INVALID_OPTION'],
    ['i32 1.5', base({ metadata: [['k', { type: 'i32', value: 1.5 }]] }), 'INVALID_OPTION'],
    ['u64 as a number', base({ metadata: [['k', { type: 'u64', value: 1 } as unknown as GgufValue]] }), 'INVALID_OPTION'],
    ['i64 out of range', base({ metadata: [['k', { type: 'i64', value: 2n ** 63n }]] }), 'INVALID_OPTION'],
    ['an unknown type', base({ metadata: [['k', { type: 'f128', value: 1 } as unknown as GgufValue]] }), 'INVALID_OPTION'],
    ['an array of arrays', base({ metadata: [['k', { type: 'array', itemType: 'array', values: [] } as unknown as GgufValue]] }), 'INVALID_OPTION'],
    ['a string in a number array', base({ metadata: [['k', { type: 'array', itemType: 'f32', values: ['1'] } as unknown as GgufValue]] }), 'INVALID_OPTION'],
    ['alignment 48', base({ alignment: 48 }), 'INVALID_OPTION'],
    ['alignment 4', base({ alignment: 4 }), 'INVALID_OPTION'],
    ['a 64-byte tensor name', base({ tensors: [{ name: 'x'.repeat(64), tensor: Tensor.f32([1], [0]) }] }), 'INVALID_OPTION'],
    [
      'a tensor name given twice',
      base({
        tensors: [
          { name: 't', tensor: Tensor.f32([1], [0]) },
          { name: 't', tensor: Tensor.f32([1], [0]) },
        ],
      }),
      'INVALID_OPTION',
    ],
    ['a bf16 tensor', base({ tensors: [{ name: 't', tensor: Tensor.f32([1], [0]).castFloat('bf16') }] }), 'UNSUPPORTED_DTYPE'],
    ['a 5-D tensor', base({ tensors: [{ name: 't', tensor: Tensor.f32([1, 1, 1, 1, 1], [0]) }] }), 'SHAPE_MISMATCH'],
    ['a 0-D tensor', base({ tensors: [{ name: 't', tensor: Tensor.f32([], [0]) }] }), 'SHAPE_MISMATCH'],
  ])('refuses %s', (_, content, code) => {
    expect(codeOf(() => encodeGguf(content))).toBe(code);
  });

  it('accepts the longest tensor name ggml reads (63 bytes)', () => {
    expect(codeOf(() => encodeGguf(base({ tensors: [{ name: 'x'.repeat(63), tensor: Tensor.f32([1], [0]) }] })))).toBeUndefined();
  });
});

describe('interleaveRopeRows', () => {
  it("maps each head's [first half; second half] rows to interleaved pairs", () => {
    // 2 heads of 4 rows, 2 columns; row r holds (r, 100 + r).
    const rows = Float32Array.from({ length: 16 }, (_, i) => Math.floor(i / 2) + (i % 2) * 100);
    const out = interleaveRopeRows(rows, 2, 2);
    const order = [0, 2, 1, 3, 4, 6, 5, 7];
    expect(Array.from(out)).toEqual(order.flatMap((r) => [r, 100 + r]));
  });
});

describe('exportGgufAdapter', () => {
  const models = new Map<string, Promise<ModelConfig>>();
  const model = (name: string) => {
    if (!models.has(name)) models.set(name, loadModelConfig(fixtureFolder(name)));
    return models.get(name)!;
  };
  it.each(GGUF_CASES)("%s + %s: the bytes of the gguf package's writer, tensors as derived from PEFT", async (modelName, adapterName) => {
    const result = exportGgufAdapter(await loadAdapter(fixtureFolder(adapterName)), await model(modelName));
    expect(firstDifference(bytesOf(result.bytes), fixtureBytes(`${adapterName}.gguf`))).toBe('identical');
  });

  it('f16 factors and general.name: the same bytes as the writer given numpy f16 arrays', async () => {
    const result = exportGgufAdapter(await loadAdapter(fixtureFolder('lora-qv-r8')), await model('llama-tiny'), { dtype: 'f16', name: 'lora-qv-r8 f16' });
    expect(firstDifference(bytesOf(result.bytes), fixtureBytes('lora-qv-r8.f16.gguf'))).toBe('identical');
  });

  it('reports the architecture, alpha, folds and permuted modules', async () => {
    const llama = exportGgufAdapter(await loadAdapter(fixtureFolder('lora-rslora')), await model('llama-tiny'));
    expect(llama.architecture).toBe('llama');
    // lora-rslora: alpha 8, r 16 (scaling 8/√16 = 2, so alpha·… = 2·16 = 32), o_proj at rank 4 (scaling 8/2 = 4: 4·4 = 16 = 32 · 0.5).
    expect(llama.alpha).toBe(32);
    expect(llama.modules.map((m) => [m.tensor, m.fold, m.permuted])).toEqual([
      ['blk.0.attn_k.weight', 1, true],
      ['blk.0.attn_output.weight', 0.5, false],
      ['blk.0.attn_q.weight', 1, true],
      ['blk.0.attn_v.weight', 1, false],
      ['blk.1.attn_k.weight', 1, true],
      ['blk.1.attn_output.weight', 0.5, false],
      ['blk.1.attn_q.weight', 1, true],
      ['blk.1.attn_v.weight', 1, false],
    ]);
    const qwen = exportGgufAdapter(await loadAdapter(fixtureFolder('lora-qwen2')), await model('qwen2-tiny'));
    expect(qwen.architecture).toBe('qwen2');
    expect(qwen.modules.some((m) => m.permuted)).toBe(false);
  });

  it('Mistral converts as Llama: architecture llama, q/k rows permuted', async () => {
    const mistral = await model('mistral-tiny');
    const adapter = await loadAdapter(fixtureFolder('lora-qv-r8'));
    const result = exportGgufAdapter(adapter, mistral);
    const llama = exportGgufAdapter(adapter, await model('llama-tiny'));
    expect(result.architecture).toBe('llama');
    expect(bytesOf(result.bytes)).toEqual(bytesOf(llama.bytes));
  });

  /** A hand-made adapter on llama-tiny's shapes (hidden 32, 4 heads of 8, 2 KV heads). */
  function handMade(modules: Array<{ name: string; rank: number; alpha: number; out?: number }>, extra: Record<string, unknown> = {}): LoraAdapter {
    const config = createAdapterConfig({
      r: 2,
      loraAlpha: 1,
      targetModules: ['q_proj', 'v_proj', 'lm_head'],
      rankPattern: Object.fromEntries(modules.map((m) => [m.name.replace(/\./g, '\\.'), m.rank])),
      alphaPattern: Object.fromEntries(modules.map((m) => [m.name.replace(/\./g, '\\.'), m.alpha])),
    });
    const withExtra = { ...config, extra: { ...config.extra, ...extra } };
    return {
      config: withExtra,
      modules: modules.map((m) =>
        createLoraModule(
          config,
          m.name,
          Tensor.f32(
            [m.rank, 32],
            Float32Array.from({ length: m.rank * 32 }, (_, i) => (i % 7) - 3),
          ),
          Tensor.f32(
            [m.out ?? 32, m.rank],
            Float32Array.from({ length: (m.out ?? 32) * m.rank }, (_, i) => ((i % 5) - 2) / 8),
          ),
        ),
      ),
    };
  }

  it('on a tie, the first module keeps its B; the other is scaled so that alpha/rank·B gives its PEFT scaling', async () => {
    // q: rank 2, alpha 6 → scaling 3, scaling·rank 6; v (16 rows): rank 4, alpha 4 → scaling 1, scaling·rank 4.
    const adapter = handMade([
      { name: 'model.layers.0.self_attn.v_proj', rank: 4, alpha: 4, out: 16 },
      { name: 'model.layers.0.self_attn.q_proj', rank: 2, alpha: 6 },
    ]);
    const result = exportGgufAdapter(adapter, await model('qwen2-tiny'));
    expect(result.alpha).toBe(6);
    expect(result.modules.map((m) => [m.module, m.fold])).toEqual([
      ['model.layers.0.self_attn.q_proj', 1],
      ['model.layers.0.self_attn.v_proj', 4 / 6],
    ]);
    // llama.cpp applies alpha/rank = 6/4 to v's stored B: stored B = B · (1 / (6/4)).
    const bytes = bytesOf(result.bytes);
    const v = adapter.modules.find((m) => m.name.endsWith('v_proj'))!;
    const storedB = new Float32Array(bytes.buffer.slice(bytes.length - 16 * 4 * 4, bytes.length));
    expect(Array.from(storedB)).toEqual(Array.from(v.b.data as Float32Array, (b) => Math.fround((b * 4) / 6)));
  });

  it('refuses DoRA, modules llama.cpp adapters do not cover, misfits and bad options, with typed errors', async () => {
    const llama = await model('llama-tiny');
    const q = { name: 'model.layers.0.self_attn.q_proj', rank: 2, alpha: 2 };
    expect(codeOf(() => exportGgufAdapter(handMade([q], { use_dora: true }), llama))).toBe('ADAPTER_UNSUPPORTED');
    expect(codeOf(() => exportGgufAdapter(handMade([{ name: 'lm_head', rank: 2, alpha: 2, out: 64 }]), llama))).toBe('ADAPTER_UNSUPPORTED');
    const wider = parseModelConfig({ ...llama.raw, hidden_size: 64, head_dim: 16 });
    expect(codeOf(() => exportGgufAdapter(handMade([q]), wider))).toBe('ADAPTER_MODEL_MISMATCH');
    expect(codeOf(() => exportGgufAdapter(handMade([q, q]), llama))).toBe('INVALID_OPTION');
    expect(codeOf(() => exportGgufAdapter(handMade([q]), llama, { dtype: 'bf16' as 'f16' }))).toBe('INVALID_OPTION');
    expect(codeOf(() => exportGgufAdapter(handMade([q]), { ...llama, modelType: 'gpt2' as 'llama' }))).toBe('MODEL_UNSUPPORTED');
  });
});
