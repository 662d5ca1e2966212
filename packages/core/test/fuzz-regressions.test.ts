// Regression cases for what the fuzz suite and the security review found,
// and checks that the fuzz harness itself can see what it counts.
import { describe, expect, it } from 'vitest';
import {
  SafetensorsFile,
  Tensor,
  createAdapterConfig,
  encodeSafetensors,
  isTargetModule,
  loadAdapter,
  memoryFolder,
  moduleHyperparameters,
  openCheckpoint,
  openModelFolder,
  parseAdapterConfig,
} from '@lorafuse/core';
import { asyncCodeOf, codeOf } from './error-code.js';
import { fixtureCopy } from './fixtures/index.js';
import { recordingFolder, type ReadStats } from './fuzz/recording-folder.js';
import { runFuzz } from './fuzz/run.js';

const text = (s: string) => new TextEncoder().encode(s);
const BASE = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] };

/** The error of parseAdapterConfig for `config`. */
function refusal(config: Record<string, unknown>): { code: string | undefined; reason: unknown } {
  try {
    parseAdapterConfig({ ...BASE, ...config });
    return { code: undefined, reason: undefined };
  } catch (e) {
    return { code: (e as { code?: string }).code, reason: (e as { details?: { reason?: unknown } }).details?.reason };
  }
}

describe('regular expressions from adapter_config.json', () => {
  // Each of these takes seconds to centuries on a 30-character module name
  // without the guard, which refuses them from their text, before they run
  // (a test that let one run would not end).
  const REDOS = ['(a+)+$', '(.*)*y', '(\\w+\\.?)+$', '(a|a)*b', '(?:\\d+\\.)*x', '(.*a){20}', '((a|b)?){9}c', '.*.*.*.*x', '[(]+.*(.*)*x'].map(
    (p) => [p, p] as const,
  );
  REDOS.push(['1025 characters', 'x'.repeat(1025)]);

  it.each(REDOS)('refuses %s in target_modules, exclude_modules, layers_pattern and pattern keys', (_label, pattern) => {
    const places = [
      { target_modules: pattern },
      { exclude_modules: pattern },
      { layers_to_transform: [0], layers_pattern: pattern },
      { rank_pattern: { [pattern]: 2 } },
      { alpha_pattern: { [pattern]: 2 } },
    ];
    for (const place of places) {
      expect(refusal(place), JSON.stringify(place)).toEqual({ code: 'ADAPTER_CONFIG_INVALID', reason: 'regex-too-complex' });
    }
  });

  it('accepts the patterns PEFT configs use', () => {
    for (const pattern of [
      '.*\\.(q_proj|v_proj)$',
      '.*decoder.*(self_attn|attn).*(q|k|v)_proj',
      'model\\.layers\\.\\d+\\.self_attn\\.(q|k)_proj|.*\\.1\\.mlp\\.down_proj',
      '(?P<proj>q|v)_proj',
      '[a-z_]+\\.(?:q|v)_proj',
      'layers\\.(0|1){1}\\.',
    ]) {
      expect(refusal({ target_modules: pattern }).code, pattern).toBeUndefined();
    }
  });

  it('accepts a worst-case pattern at the quantifier limit, refuses one more, and matches the longest accepted module name', () => {
    // Backtracking grows as (name length)^quantifiers: the limit, not a stopwatch, is what bounds it.
    const config = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: '.*a.*a.*x', rankPattern: { '.*\\..*\\..*x': 2 } });
    expect(refusal({ target_modules: '.*a.*a.*a.*x' })).toEqual({ code: 'ADAPTER_CONFIG_INVALID', reason: 'regex-too-complex' });
    const name = 'a.'.repeat(64);
    expect(isTargetModule(config, name)).toBe(false);
    expect(moduleHyperparameters(config, name).rank).toBe(4);
  });

  it('refuses adapter tensors naming a module longer than any model has', async () => {
    const folder = fixtureCopy('lora-qv-r8');
    const file = await SafetensorsFile.open(await folder.open('adapter_model.safetensors'));
    const tensors = await Promise.all(
      file.tensors.map(async (t) => [t.name.replace('base_model.model.', `base_model.model.${'x.'.repeat(70)}`), await file.read(t.name)] as [string, Tensor]),
    );
    await folder.write('adapter_model.safetensors', encodeSafetensors(tensors));
    expect(await asyncCodeOf(() => loadAdapter(folder))).toBe('ADAPTER_UNKNOWN_TENSOR');
  });
});

describe('pickle files are never opened', () => {
  const tiny = encodeSafetensors({ w: new Tensor('f32', [1], new Float32Array([1])) });

  it('openCheckpoint refuses a .bin/.pt file and an index naming a pickle shard', async () => {
    const folder = memoryFolder({ 'pytorch_model.bin': text('not read'), 'model.pt': text('x') });
    expect(await asyncCodeOf(() => openCheckpoint(folder, { file: 'pytorch_model.bin' }))).toBe('UNSAFE_FILE_FORMAT');
    expect(await asyncCodeOf(() => openCheckpoint(folder, { file: 'model.pt' }))).toBe('UNSAFE_FILE_FORMAT');
    expect(await asyncCodeOf(() => openCheckpoint(folder, { file: 'pytorch_model.bin.index.json' }))).toBe('UNSAFE_FILE_FORMAT');
    const sharded = memoryFolder({
      'model.safetensors.index.json': text(JSON.stringify({ weight_map: { w: 'pytorch_model-00001.bin' } })),
      'pytorch_model-00001.bin': tiny[0],
    });
    expect(await asyncCodeOf(() => openCheckpoint(sharded))).toBe('UNSAFE_FILE_FORMAT');
  });

  it('adapter and model folders holding only pickle weights say so', async () => {
    const adapter = fixtureCopy('lora-qv-r8');
    adapter.files.set('adapter_model.bin', adapter.files.get('adapter_model.safetensors')!);
    adapter.files.delete('adapter_model.safetensors');
    await expect(loadAdapter(adapter)).rejects.toThrow(/adapter_model\.bin \(PyTorch pickle\)/);
    const model = fixtureCopy('llama-tiny');
    model.files.set('pytorch_model.bin', model.files.get('model.safetensors')!);
    model.files.delete('model.safetensors');
    await expect(openModelFolder(model)).rejects.toThrow(/pytorch_model\.bin \(PyTorch pickle\)/);
  });
});

describe('JSON files are sized before they are read', () => {
  it('refuses an adapter_config.json over the limit without reading it', async () => {
    const folder = fixtureCopy('lora-qv-r8');
    const stats: ReadStats = { maxRead: 0, maxReadFileSize: 0, overReads: 0, totalRead: 0 };
    const recorded = recordingFolder(folder.files, stats);
    expect(await asyncCodeOf(() => loadAdapter(recorded, { jsonLimits: { maxBytes: 16 } }))).toBe('JSON_LIMIT_EXCEEDED');
    expect(stats.totalRead).toBe(0);
  });
});

describe('the fuzz harness', () => {
  it('records a read larger than its file before the range check refuses it', async () => {
    const stats: ReadStats = { maxRead: 0, maxReadFileSize: 0, overReads: 0, totalRead: 0 };
    const source = await recordingFolder(new Map([['f', new Uint8Array(8)]]), stats).open('f');
    expect(await asyncCodeOf(() => source.read(0, 9))).toBe('READ_OUT_OF_BOUNDS');
    expect(stats).toMatchObject({ overReads: 1, maxRead: 9, maxReadFileSize: 8 });
  });

  it('replays the same cases from the same seed', async () => {
    const [a, b] = [await runFuzz({ seed: 7, cases: 300 }), await runFuzz({ seed: 7, cases: 300 })];
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.pastHeader).toBe(b.pastHeader);
    const c = await runFuzz({ seed: 8, cases: 300 });
    expect(c.outcomes).not.toEqual(a.outcomes);
  });

  it('a single case replays on its own with the outcome it had in the run', async () => {
    const run = await runFuzz({ seed: 7, cases: 50 });
    const singles = await Promise.all([0, 17, 49].map((i) => runFuzz({ seed: 7, cases: 0, only: [i] })));
    const whole = await runFuzz({ seed: 7, cases: 0, only: [0, 17, 49] });
    expect(singles.reduce((n, s) => n + s.cases, 0)).toBe(whole.cases);
    expect(run.cases).toBe(50);
    const merged: Record<string, number> = {};
    for (const s of singles) for (const [k, v] of Object.entries(s.outcomes)) merged[k] = (merged[k] ?? 0) + v;
    expect(merged).toEqual(whole.outcomes);
  });
});

it('codeOf marks an error that is not a LoraFuseError', () => {
  expect(codeOf(() => JSON.parse('{'))).toMatch(/^not a LoraFuseError/);
});
