// A corpus of broken adapter folders, each derived from the PEFT-saved
// lora-qv-r8 fixture by one change, and the exact error code each must give.
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, Tensor, concatBytes, encodeSafetensors, isLoraFuseError, loadAdapter, type WritableFolder } from '@lorafuse/core';
import { fixtureCopy } from './fixtures/index.js';

type Folder = ReturnType<typeof fixtureCopy>;
const PREFIX = 'base_model.model.model.layers.0.self_attn';
const Q_A = `${PREFIX}.q_proj.lora_A.weight`;
const Q_B = `${PREFIX}.q_proj.lora_B.weight`;

const text = (s: string) => new TextEncoder().encode(s);

async function originalTensors(): Promise<Map<string, Tensor>> {
  const folder = fixtureCopy('lora-qv-r8');
  const file = await SafetensorsFile.open(await folder.open('adapter_model.safetensors'));
  return new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await file.read(t.name)] as [string, Tensor])));
}

/** The fixture with its config edited by `edit` (a JSON patch; `undefined` removes a key). */
function withConfig(edit: Record<string, unknown>): (f: Folder) => Promise<void> {
  return async (f) => {
    const json = JSON.parse(new TextDecoder().decode(f.files.get('adapter_config.json')!));
    await writeJson(f, { ...json, ...edit });
  };
}

const writeJson = (f: WritableFolder, json: unknown) => f.write('adapter_config.json', [text(JSON.stringify(json))]);

/** The fixture with its tensors edited by `edit`. */
function withTensors(edit: (t: Map<string, Tensor>) => void): (f: Folder) => Promise<void> {
  return async (f) => {
    const tensors = await originalTensors();
    edit(tensors);
    await f.write('adapter_model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  };
}

const rename = (from: string, to: string) => (t: Map<string, Tensor>) => {
  t.set(to, t.get(from)!);
  t.delete(from);
};

const cases: Array<[string, (f: Folder) => Promise<void> | void, string]> = [
  // Files
  ['no adapter_config.json', (f) => void f.files.delete('adapter_config.json'), 'ADAPTER_CONFIG_MISSING'],
  ['no adapter_model.safetensors', (f) => void f.files.delete('adapter_model.safetensors'), 'ADAPTER_WEIGHTS_MISSING'],
  [
    'only adapter_model.bin',
    (f) => {
      f.files.set('adapter_model.bin', f.files.get('adapter_model.safetensors')!);
      f.files.delete('adapter_model.safetensors');
    },
    'ADAPTER_WEIGHTS_MISSING',
  ],
  ['config not JSON', (f) => f.write('adapter_config.json', [text('{"r": 8,')]), 'INVALID_JSON'],
  ['config not UTF-8', (f) => f.write('adapter_config.json', [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]), 'INVALID_UTF8'],
  ['config nested too deep', (f) => f.write('adapter_config.json', [text(`${'['.repeat(100)}${']'.repeat(100)}`)]), 'JSON_LIMIT_EXCEEDED'],
  ['config a list', (f) => writeJson(f, [1, 2]), 'ADAPTER_CONFIG_INVALID'],
  // Config fields
  ['r a string', withConfig({ r: '8' }), 'ADAPTER_CONFIG_INVALID'],
  ['r missing', withConfig({ r: undefined }), 'ADAPTER_CONFIG_INVALID'],
  ['lora_alpha null', withConfig({ lora_alpha: null }), 'ADAPTER_CONFIG_INVALID'],
  ['target_modules an object', withConfig({ target_modules: { q: 1 } }), 'ADAPTER_CONFIG_INVALID'],
  ['rank_pattern with a fractional rank', withConfig({ rank_pattern: { q_proj: 1.5 } }), 'ADAPTER_CONFIG_INVALID'],
  ['use_rslora a number', withConfig({ use_rslora: 1 }), 'ADAPTER_CONFIG_INVALID'],
  ['peft_type missing', withConfig({ peft_type: undefined }), 'ADAPTER_CONFIG_INVALID'],
  ['peft_type LOHA', withConfig({ peft_type: 'LOHA' }), 'ADAPTER_UNSUPPORTED'],
  ['peft_type PREFIX_TUNING', withConfig({ peft_type: 'PREFIX_TUNING' }), 'ADAPTER_UNSUPPORTED'],
  ['use_dora true', withConfig({ use_dora: true }), 'ADAPTER_UNSUPPORTED'],
  ['fan_in_fan_out true', withConfig({ fan_in_fan_out: true }), 'ADAPTER_UNSUPPORTED'],
  ['modules_to_save', withConfig({ modules_to_save: ['lm_head'] }), 'ADAPTER_UNSUPPORTED'],
  ['lora_bias true', withConfig({ lora_bias: true }), 'ADAPTER_UNSUPPORTED'],
  // Tensors against the config
  ['config rank 4, tensors rank 8', withConfig({ r: 4 }), 'ADAPTER_RANK_MISMATCH'],
  ['rank_pattern gives v_proj rank 2', withConfig({ rank_pattern: { v_proj: 2 } }), 'ADAPTER_RANK_MISMATCH'],
  ['target_modules lacks v_proj', withConfig({ target_modules: ['q_proj'] }), 'ADAPTER_UNKNOWN_TENSOR'],
  ['layers_to_transform excludes layer 1', withConfig({ layers_to_transform: [0] }), 'ADAPTER_UNKNOWN_TENSOR'],
  // Tensors
  ['A without B', withTensors((t) => void t.delete(Q_B)), 'ADAPTER_MODULE_INCOMPLETE'],
  ['B without A', withTensors((t) => void t.delete(Q_A)), 'ADAPTER_MODULE_INCOMPLETE'],
  ['B of rank 7', withTensors((t) => void t.set(Q_B, Tensor.f32([32, 7], new Float32Array(32 * 7)))), 'ADAPTER_RANK_MISMATCH'],
  [
    'A and B both rank 4 against config r 8',
    withTensors((t) => {
      t.set(Q_A, Tensor.f32([4, 32], new Float32Array(4 * 32)));
      t.set(Q_B, Tensor.f32([32, 4], new Float32Array(32 * 4)));
    }),
    'ADAPTER_RANK_MISMATCH',
  ],
  ['A 1-D', withTensors((t) => void t.set(Q_A, Tensor.f32([256], new Float32Array(256)))), 'SHAPE_MISMATCH'],
  ['A 3-D', withTensors((t) => void t.set(Q_A, Tensor.f32([8, 4, 8], new Float32Array(256)))), 'SHAPE_MISMATCH'],
  ['A of int32', withTensors((t) => void t.set(Q_A, new Tensor('i32', [8, 32]))), 'UNSUPPORTED_DTYPE'],
  ['B of int64', withTensors((t) => void t.set(Q_B, new Tensor('i64', [32, 8]))), 'UNSUPPORTED_DTYPE'],
  ['an unrelated tensor', withTensors((t) => void t.set('foo', Tensor.f32([1], [0]))), 'ADAPTER_UNKNOWN_TENSOR'],
  ['keys without the base_model.model prefix', withTensors(rename(Q_A, Q_A.slice('base_model.model.'.length))), 'ADAPTER_UNKNOWN_TENSOR'],
  ['a factor named for another adapter', withTensors(rename(Q_A, Q_A.replace('lora_A.weight', 'lora_A.other.weight'))), 'ADAPTER_UNKNOWN_TENSOR'],
  [
    'the same factor with and without ".default."',
    withTensors((t) => void t.set(Q_A.replace('lora_A.weight', 'lora_A.default.weight'), t.get(Q_A)!)),
    'ADAPTER_UNKNOWN_TENSOR',
  ],
  [
    'a module the config does not target',
    withTensors((t) => {
      t.set('base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', Tensor.f32([8, 32], new Float32Array(256)));
      t.set('base_model.model.model.layers.0.mlp.up_proj.lora_B.weight', Tensor.f32([48, 8], new Float32Array(384)));
    }),
    'ADAPTER_UNKNOWN_TENSOR',
  ],
  [
    'a DoRA magnitude without use_dora',
    withTensors((t) => void t.set(`${PREFIX}.q_proj.lora_magnitude_vector`, Tensor.f32([32], new Float32Array(32)))),
    'ADAPTER_UNSUPPORTED',
  ],
  ['a trained base bias', withTensors((t) => void t.set(`${PREFIX}.q_proj.bias`, Tensor.f32([32], new Float32Array(32)))), 'ADAPTER_UNSUPPORTED'],
  ['a lora_B bias', withTensors((t) => void t.set(`${PREFIX}.q_proj.lora_B.bias`, Tensor.f32([32], new Float32Array(32)))), 'ADAPTER_UNSUPPORTED'],
  [
    'an embedding LoRA',
    withTensors((t) => void t.set('base_model.model.model.embed_tokens.lora_embedding_A', Tensor.f32([8, 64], new Float32Array(512)))),
    'ADAPTER_UNSUPPORTED',
  ],
  ['no tensors at all', withTensors((t) => t.clear()), 'ADAPTER_WEIGHTS_MISSING'],
  // The weights file itself
  [
    'weights truncated to 4 bytes',
    (f) => f.write('adapter_model.safetensors', [f.files.get('adapter_model.safetensors')!.subarray(0, 4)]),
    'SAFETENSORS_TOO_SMALL',
  ],
  [
    'weights header longer than the file',
    (f) => {
      const bytes = f.files.get('adapter_model.safetensors')!.slice();
      new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
      return f.write('adapter_model.safetensors', [bytes]);
    },
    'SAFETENSORS_HEADER_TRUNCATED',
  ],
  [
    'weights data cut short',
    (f) => {
      const bytes = f.files.get('adapter_model.safetensors')!;
      return f.write('adapter_model.safetensors', [bytes.subarray(0, bytes.length - 100)]);
    },
    'SAFETENSORS_OFFSETS_OUT_OF_BOUNDS',
  ],
  [
    'weights header a JSON list',
    (f) => f.write('adapter_model.safetensors', [concatBytes([new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]), text('[1,2]   ')])]),
    'SAFETENSORS_HEADER_INVALID',
  ],
];

describe('malformed adapters', () => {
  it('loads the unaltered fixture (the baseline every case changes once)', async () => {
    expect((await loadAdapter(fixtureCopy('lora-qv-r8'))).modules).toHaveLength(4);
  });

  it.each(cases.map(([name, mutate, code]) => ({ name, mutate, code })))('$name → $code', async ({ mutate, code }) => {
    const folder = fixtureCopy('lora-qv-r8');
    await mutate(folder);
    const error = await loadAdapter(folder).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLoraFuseError(error) ? error.code : error).toBe(code);
  });

  it('hints at safe_serialization when only adapter_model.bin is there', async () => {
    const folder = fixtureCopy('lora-qv-r8');
    folder.files.set('adapter_model.bin', new Uint8Array(1));
    folder.files.delete('adapter_model.safetensors');
    await expect(loadAdapter(folder)).rejects.toThrow(/safe_serialization/);
  });

  it('reads keys named for another adapter when told its name', async () => {
    const folder = fixtureCopy('lora-qv-r8');
    await withTensors((t) => {
      for (const key of [...t.keys()]) rename(key, key.replace(/lora_([AB])\.weight$/, 'lora_$1.other.weight'))(t);
    })(folder);
    expect((await loadAdapter(folder, { adapterName: 'other' })).modules).toHaveLength(4);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await loadAdapter(fixtureCopy('lora-qv-r8'), { signal: controller.signal }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'ABORTED')).toBe(true);
  });
});
