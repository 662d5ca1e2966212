// The loaders under fuzz, each with its valid inputs (built from the golden
// fixtures) and the mutations that apply to them.
import { readFileSync } from 'node:fs';
import * as core from '@lorafuse/core';
import {
  HfTokenizer,
  SafetensorsFile,
  bytesSource,
  concatBytes,
  decodeUtf8,
  encodeSafetensors,
  loadAdapter,
  loadAdapterConfig,
  loadModelConfig,
  openCheckpoint,
  openModelFolder,
  readJsonFile,
  readJsonl,
  type Folder,
  type Tensor,
} from '@lorafuse/core';
import { FIXTURES } from '../fixtures/index.js';
import { BYTE_MUTATIONS } from './mutate-bytes.js';
import { JSON_MUTATIONS } from './mutate-json.js';
import type { Rng } from './rng.js';
import { SAFETENSORS_LIES } from './safetensors-lies.js';

/** One generated input: the files of a folder and how they were damaged. */
interface FuzzInput {
  /** Which mutation made it (for the tally and to replay a failure). */
  readonly mutation: string;
  readonly files: Map<string, Uint8Array>;
}

/**
 * A loader under fuzz. `run` loads the input as a user would and calls
 * `pastHeader()` once every container it reads has been parsed and
 * validated on its own (safetensors length prefix and header JSON, config
 * and index JSON, UTF-8 of a text file): what happens after that is
 * tensor-, adapter- or model-level validation.
 */
export interface FuzzTarget {
  readonly name: string;
  /** Relative share of cases. */
  readonly weight: number;
  generate(rng: Rng): Promise<FuzzInput>;
  run(folder: Folder, pastHeader: () => void): Promise<void>;
}

type Files = Map<string, Uint8Array>;
const read = (path: string) => new Uint8Array(readFileSync(`${FIXTURES}/${path}`));
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A file of `files`, damaged by a blind byte mutation or a header lie (safetensors only). */
function damage(files: Files, path: string, rng: Rng, extra: Readonly<Record<string, (b: Uint8Array, r: Rng) => Uint8Array>> = {}): FuzzInput {
  const pool = { ...BYTE_MUTATIONS, ...(path.endsWith('.safetensors') ? SAFETENSORS_LIES : {}), ...extra };
  const name = rng.pick(Object.keys(pool));
  return { mutation: `${path}:${name}`, files: new Map(files).set(path, pool[name](files.get(path)!, rng)) };
}

/** A JSON file of `files` damaged by a generic JSON mutation (hints are values that mean something to this loader). */
function damageJson(files: Files, path: string, rng: Rng, hints: readonly unknown[] = []): FuzzInput {
  const name = rng.pick(Object.keys(JSON_MUTATIONS));
  return { mutation: `${path}:${name}`, files: new Map(files).set(path, JSON_MUTATIONS[name](json(files.get(path)!), rng, hints)) };
}

/** Sets `key` of a JSON file to `value`: a semantic lie the JSON layer cannot see. */
function setKey(files: Files, path: string, key: string, value: unknown): FuzzInput {
  return { mutation: `${path}:set ${key}`, files: new Map(files).set(path, encode({ ...json(files.get(path)!), [key]: value })) };
}

/** The tensors of valid safetensors bytes, in header order. */
async function tensorsOf(bytes: Uint8Array): Promise<Array<[string, Tensor]>> {
  const file = await SafetensorsFile.open(bytesSource(bytes));
  return Promise.all(file.tensors.map(async (t) => [t.name, await file.read(t.name)] as [string, Tensor]));
}

/** Re-encodes `tensors` after `change`: a well-formed file whose contents are wrong for the loader. */
async function rewrite(
  files: Files,
  path: string,
  mutation: string,
  change: (tensors: Array<[string, Tensor]>) => Array<[string, Tensor]>,
): Promise<FuzzInput> {
  const tensors = change(await tensorsOf(files.get(path)!));
  return { mutation: `${path}:${mutation}`, files: new Map(files).set(path, concatBytes(encodeSafetensors(tensors))) };
}

/** Drops the last row (`axis` 0) or column (`axis` 1) of a 2-D f32/f16/bf16 tensor. */
function shrink(t: Tensor, axis: 0 | 1): Tensor {
  const [rows, cols] = t.shape;
  const keep = (i: number) => (axis === 0 ? Math.floor(i / cols) < rows - 1 : i % cols < cols - 1);
  const data = (t.data as unknown as ArrayLike<number> & { filter(f: (v: number, i: number) => boolean): typeof t.data }).filter((_v, i) => keep(i));
  return new core.Tensor(t.dtype, axis === 0 ? [rows - 1, cols] : [rows, cols - 1], data);
}

/** Regular expressions that must be refused or run fast: ReDoS shapes, bad syntax, ordinary ones. */
const REGEXES = [
  '(a+)+$',
  '(.*)*y',
  '(.*a){20}',
  '.*.*.*.*x',
  '(\\w+\\.?)+$',
  '(a|a)*b',
  '[',
  '(?P<x>q)_proj',
  '.*\\.(q|v)_proj',
  'x'.repeat(2000),
  'q_proj|v_proj',
];

const ADAPTERS = ['lora-qv-r8', 'lora-patterns', 'lora-regex', 'lora-rslora', 'lora-all7'].map((name) => {
  const files: Files = new Map([
    ['adapter_config.json', read(`${name}/adapter_config.json`)],
    ['adapter_model.safetensors', read(`${name}/adapter_model.safetensors`)],
  ]);
  return files;
});

const adapterTarget: FuzzTarget = {
  name: 'adapter',
  weight: 4,
  async generate(rng) {
    const files = rng.pick(ADAPTERS);
    const config = 'adapter_config.json';
    const weights = 'adapter_model.safetensors';
    switch (rng.int(5)) {
      case 0:
        return damageJson(files, config, rng, [4, 16, 'LOHA', ...REGEXES, { '.*': 2 }, [0, 7]]);
      case 1: {
        const [key, values] = rng.pick<[string, unknown[]]>([
          ['r', [1, 2, 4, 8, 16, 0, -4]],
          ['target_modules', [...REGEXES, ['q_proj'], ['k_proj', 'v_proj'], []]],
          ['rank_pattern', REGEXES.map((k) => ({ [k]: 2 })).concat([{ q_proj: 4 }, { 'layers.0.self_attn.q_proj': 2 }])],
          ['alpha_pattern', REGEXES.map((k) => ({ [k]: 3 }))],
          ['layers_to_transform', [0, [1], [5], -1]],
          ['use_dora', [true, 'yes']],
          ['lora_alpha', [0, -1, 1e308]],
        ]);
        return setKey(files, config, key, rng.pick(values));
      }
      case 2:
        return damage(files, weights, rng);
      default: {
        const kind = rng.pick(['rankA', 'rankB', 'dropTensor', 'renameTensor', 'longName', 'toI32']);
        return rewrite(files, weights, kind, (tensors) => {
          const i = rng.int(tensors.length);
          const [name, t] = tensors[i];
          if (kind === 'dropTensor') return tensors.filter((_, j) => j !== i);
          if (kind === 'renameTensor')
            return tensors.map((e, j) => (j === i ? [name.replace(/lora_[AB]/, rng.pick(['lora_C', 'lora_magnitude_vector', 'lora_embedding_A'])), t] : e));
          if (kind === 'longName') return tensors.map((e, j) => (j === i ? [name.replace('base_model.model.', `base_model.model.${'x.'.repeat(100)}`), t] : e));
          if (kind === 'toI32') return tensors.map((e, j) => (j === i ? [name, new core.Tensor('i32', t.shape, new Int32Array(t.size))] : e));
          const isA = name.includes('lora_A');
          if ((kind === 'rankA') !== isA) return tensors;
          return tensors.map((e, j) => (j === i ? [name, shrink(t, isA ? 0 : 1)] : e));
        });
      }
    }
  },
  async run(folder, pastHeader) {
    await loadAdapterConfig(folder);
    await SafetensorsFile.open(await folder.open('adapter_model.safetensors'));
    pastHeader();
    await loadAdapter(folder);
  },
};

const MODEL: Files = new Map([
  ['config.json', read('llama-tiny/config.json')],
  ['model.safetensors', read('llama-tiny/model.safetensors')],
]);

const modelTarget: FuzzTarget = {
  name: 'model',
  weight: 2,
  async generate(rng) {
    switch (rng.int(4)) {
      case 0:
        return damageJson(MODEL, 'config.json', rng, [16, 33, 0, 3, 'mistral', 'gpt2', { rope_type: 'yarn' }]);
      case 1: {
        const [key, values] = rng.pick<[string, unknown[]]>([
          ['hidden_size', [16, 64, 33]],
          ['num_hidden_layers', [1, 3, 1000]],
          ['intermediate_size', [32, 64]],
          ['vocab_size', [32, 128]],
          ['num_key_value_heads', [1, 4, 3]],
          ['head_dim', [4, 16, 7]],
          ['tie_word_embeddings', [true]],
          ['model_type', ['qwen2', 'mistral', 'bert']],
        ]);
        return setKey(MODEL, 'config.json', key, rng.pick(values));
      }
      case 2:
        return damage(MODEL, 'model.safetensors', rng);
      default:
        return rewrite(MODEL, 'model.safetensors', 'dropOrShrink', (tensors) => {
          const i = rng.int(tensors.length);
          const [name, t] = tensors[i];
          if (t.shape.length !== 2 || rng.chance(0.5)) return tensors.filter((_, j) => j !== i);
          return tensors.map((e, j) => (j === i ? [name, shrink(t, rng.pick([0, 1] as const))] : e));
        });
    }
  },
  async run(folder, pastHeader) {
    await loadModelConfig(folder);
    await openCheckpoint(folder);
    pastHeader();
    const { weights } = await openModelFolder(folder);
    for (const t of weights.tensors) await weights.read(t.name);
  },
};

const SHARDED: Files = new Map(
  ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map((f) => [f, read(`llama-tiny-sharded/${f}`)]),
);
const ESCAPES = [
  '../model-00001-of-00002.safetensors',
  '/etc/passwd',
  'C:\\Windows\\x',
  'a/../../b.safetensors',
  'shard\0.safetensors',
  '',
  '.',
  'missing.safetensors',
  'pytorch_model-00001.bin',
  'model-00002-of-00002.safetensors',
];

const shardedTarget: FuzzTarget = {
  name: 'sharded',
  weight: 1,
  async generate(rng) {
    const index = 'model.safetensors.index.json';
    switch (rng.int(3)) {
      case 0: {
        const parsed = json(SHARDED.get(index)!) as { weight_map: Record<string, unknown> };
        const key = rng.pick(Object.keys(parsed.weight_map));
        const value = rng.chance(0.8) ? rng.pick(ESCAPES) : rng.pick([null, 1, ['x']]);
        return {
          mutation: `${index}:weight_map value`,
          files: new Map(SHARDED).set(index, encode({ ...parsed, weight_map: { ...parsed.weight_map, [key]: value } })),
        };
      }
      case 1:
        return damageJson(SHARDED, index, rng, [{}, [], { a: '../x' }]);
      default:
        return damage(SHARDED, rng.pick(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']), rng);
    }
  },
  async run(folder, pastHeader) {
    const store = await openCheckpoint(folder);
    pastHeader();
    for (const t of store.tensors) await store.read(t.name);
  },
};

const SAFETENSORS = [
  ...ADAPTERS.map((f) => f.get('adapter_model.safetensors')!),
  MODEL.get('model.safetensors')!,
  SHARDED.get('model-00002-of-00002.safetensors')!,
];

const safetensorsTarget: FuzzTarget = {
  name: 'safetensors',
  weight: 4,
  async generate(rng) {
    return damage(new Map([['x.safetensors', rng.pick(SAFETENSORS)]]), 'x.safetensors', rng);
  },
  async run(folder, pastHeader) {
    const file = await SafetensorsFile.open(await folder.open('x.safetensors'));
    pastHeader();
    for (const t of file.tensors) await file.read(t.name);
  },
};

const JSONL_LINES = [
  JSON.stringify({ source: 'The cat sat on the mat all day.', summary: 'A cat sat.' }),
  JSON.stringify({ text: 'Plain text for language modelling, with unicode: é ü 漢字 🙂.' }),
  JSON.stringify({ source: 'Line two.', summary: 'Two.' }),
];
const JSONL = new TextEncoder().encode(JSONL_LINES.join('\n') + '\n');

const jsonlTarget: FuzzTarget = {
  name: 'jsonl',
  weight: 1,
  async generate(rng) {
    if (rng.chance(0.6)) return damage(new Map([['data.jsonl', JSONL]]), 'data.jsonl', rng);
    const line = rng.pick([
      '[]',
      'null',
      '{"text": 1}',
      '{"source": "x"}',
      '{"source": "x", "summary": null}',
      `{"text": ${'['.repeat(100_000)}}`,
      '{"text": "\\ud800"}',
      '{"a":1,"a":2}',
      'NaN',
      '{"text": "x"',
    ]);
    return { mutation: 'data.jsonl:bad line', files: new Map([['data.jsonl', new TextEncoder().encode(`${JSONL_LINES[0]}\n${line}\n`)]]) };
  },
  async run(folder, pastHeader) {
    const source = await folder.open('data.jsonl');
    decodeUtf8(await source.read(0, source.size), source.name);
    pastHeader();
    await readJsonl(source);
  },
};

const TOKENIZER: Files = new Map(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, read(`../tokenizer-fixture/${f}`)]));
/** Text that makes a backtracking split rule show itself: long runs of one letter, of spaces, and non-ASCII. */
const TOKENIZER_SAMPLE = `${'a'.repeat(1000)}! cp copies files ${' '.repeat(1000)}x 日本語のテキスト 🙂`;

/** Well-formed JSON that lies to the tokenizer library: hostile regexes, impossible ids, missing parts. */
const TOKENIZER_LIES: Readonly<Record<string, (json: Record<string, unknown>, rng: Rng) => Record<string, unknown>>> = {
  'split regex': (j, rng) => ({ ...j, pre_tokenizer: { type: 'Split', pattern: { Regex: rng.pick(REGEXES) }, behavior: 'Isolated', invert: false } }),
  'replace regex': (j, rng) => ({ ...j, normalizer: { type: 'Replace', pattern: { Regex: rng.pick(REGEXES) }, content: '' } }),
  'vocab ids': (j, rng) => {
    const model = j.model as Record<string, unknown>;
    const vocab = { ...(model.vocab as Record<string, number>) };
    vocab[rng.pick(Object.keys(vocab))] = rng.pick([-1, 1.5, 2 ** 40, NaN as unknown as number, 1e308]);
    return { ...j, model: { ...model, vocab } };
  },
  'empty vocab': (j) => ({ ...j, model: { ...(j.model as object), vocab: {} } }),
  'junk merges': (j, rng) => ({ ...j, model: { ...(j.model as object), merges: rng.pick([[['zz', 'qq']], ['a'], [5], 'merges', [['a b c']]]) } }),
  'model type': (j, rng) => ({ ...j, model: { ...(j.model as object), type: rng.pick(['Nonsense', '', 7, null]) } }),
  'added tokens': (j, rng) => ({
    ...j,
    added_tokens: [{ id: rng.pick([1e9, -5, 0.5, 'x']), content: rng.pick(['<s>', '', 'a'.repeat(10_000)]), special: true }],
  }),
  'no model': (j) => Object.fromEntries(Object.entries(j).filter(([k]) => k !== 'model')),
};

const tokenizerTarget: FuzzTarget = {
  name: 'tokenizer',
  weight: 1,
  async generate(rng) {
    const roll = rng.int(10);
    if (roll < 4) return damage(TOKENIZER, rng.chance(0.8) ? 'tokenizer.json' : 'tokenizer_config.json', rng);
    if (roll < 6) return damageJson(TOKENIZER, rng.chance(0.8) ? 'tokenizer.json' : 'tokenizer_config.json', rng, [{ Regex: '(a+)+$' }, { type: 'Split' }, {}]);
    const lie = rng.pick(Object.keys(TOKENIZER_LIES));
    return {
      mutation: `tokenizer.json:${lie}`,
      files: new Map(TOKENIZER).set('tokenizer.json', encode(TOKENIZER_LIES[lie](json(TOKENIZER.get('tokenizer.json')!), rng))),
    };
  },
  async run(folder, pastHeader) {
    for (const file of TOKENIZER.keys()) await readJsonFile(folder, file);
    pastHeader();
    const tokenizer = await HfTokenizer.load(folder);
    tokenizer.decode(tokenizer.encode(TOKENIZER_SAMPLE));
  },
};

/** Every loader under fuzz. */
export const TARGETS: readonly FuzzTarget[] = [safetensorsTarget, adapterTarget, modelTarget, shardedTarget, jsonlTarget, tokenizerTarget];
