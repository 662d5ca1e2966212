// saveAdapter against PEFT's own files: what LoRAFuse writes must be what
// PEFT writes for the same adapter (keys, shapes, dtypes, bytes, config).
import { describe, expect, it } from 'vitest';
import {
  SafetensorsFile,
  Tensor,
  createAdapterConfig,
  createLoraModule,
  isLoraFuseError,
  loadAdapter,
  memoryFolder,
  parseJsonBytes,
  readFile,
  saveAdapter,
  storageBytes,
  type LoraAdapter,
} from '@lorafuse/core';
import { fixtureFolder, fixtureNames, record } from './fixtures/index.js';

const peftSaved = fixtureNames('adapter').filter((name) => {
  const rec = record(name);
  return rec.config_json.use_dora !== true && name !== 'lora-default-keys';
});

async function tensorsOf(folder: Parameters<typeof readFile>[0]) {
  const file = await SafetensorsFile.open(await folder.open('adapter_model.safetensors'));
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const t of file.tensors) out.set(t.name, { dtype: t.fileDtype, shape: [...t.shape], bytes: storageBytes((await file.read(t.name)).data).slice() });
  return { metadata: file.metadata, tensors: out };
}

const configOf = async (folder: Parameters<typeof readFile>[0]) => parseJsonBytes(await readFile(folder, 'adapter_config.json'), 'adapter_config.json');

describe('saveAdapter', () => {
  describe.each(peftSaved)('%s', (name) => {
    it('writes the files PEFT wrote: same tensor keys, dtypes, shapes and bytes, and the same config', async () => {
      const out = memoryFolder();
      await saveAdapter(out, await loadAdapter(fixtureFolder(name)));
      const mine = await tensorsOf(out);
      const peft = await tensorsOf(fixtureFolder(name));
      expect([...mine.tensors.keys()].sort()).toEqual([...peft.tensors.keys()].sort());
      for (const [key, t] of peft.tensors) {
        const m = mine.tensors.get(key)!;
        expect(m.dtype, key).toBe(t.dtype);
        expect(m.shape, key).toEqual(t.shape);
        expect(Buffer.from(m.bytes).equals(Buffer.from(t.bytes)), `${key} bytes`).toBe(true);
      }
      expect(mine.metadata).toEqual(peft.metadata);
      // Interpreted fields and preserved unknown keys together give back PEFT's file exactly.
      expect(await configOf(out)).toEqual(await configOf(fixtureFolder(name)));
    });
  });

  it('drops the ".default." adapter name from keys, as PEFT saves them', async () => {
    const out = memoryFolder();
    await saveAdapter(out, await loadAdapter(fixtureFolder('lora-default-keys')));
    const keys = [...(await tensorsOf(out)).tensors.keys()];
    const rec = record('lora-default-keys');
    expect(keys.sort()).toEqual(
      Object.keys(rec.files['adapter_model.safetensors'])
        .map((k) => k.replace('.default.', '.'))
        .sort(),
    );
  });

  it('round-trips every fixture through save and load unchanged', async () => {
    for (const name of [...peftSaved, 'lora-default-keys']) {
      const original = await loadAdapter(fixtureFolder(name));
      const out = memoryFolder();
      await saveAdapter(out, original);
      const again = await loadAdapter(out);
      expect(again.config, name).toEqual(original.config);
      expect(
        again.modules.map((m) => [m.name, m.rank, m.alpha, m.scaling]),
        name,
      ).toEqual(original.modules.map((m) => [m.name, m.rank, m.alpha, m.scaling]));
      again.modules.forEach((m, i) => {
        expect(m.a.data, `${name} ${m.name} A`).toEqual(original.modules[i].a.data);
        expect(m.b.data, `${name} ${m.name} B`).toEqual(original.modules[i].b.data);
      });
    }
  });

  it('records per-module ranks and alphas that differ from the config in rank_pattern/alpha_pattern', async () => {
    // Truncate one module to rank 3 with alpha 6 (scaling 2), as pruning a rank away would.
    const original = await loadAdapter(fixtureFolder('lora-qv-r8'));
    const [first, ...rest] = original.modules;
    const [r, inF] = first.a.shape;
    const out = first.b.shape[0];
    const a = Tensor.f32([3, inF], (first.a.data as Float32Array).subarray(0, 3 * inF));
    const b = Tensor.f32(
      [out, 3],
      Float32Array.from({ length: out * 3 }, (_, i) => (first.b.data as Float32Array)[Math.floor(i / 3) * r + (i % 3)]),
    );
    const changed: LoraAdapter = { config: original.config, modules: [{ name: first.name, a, b, rank: 3, alpha: 6, scaling: 2 }, ...rest] };
    const folder = memoryFolder();
    await saveAdapter(folder, changed);
    const json = (await configOf(folder)) as Record<string, Record<string, number>>;
    const key = first.name.replace(/\./g, '\\.');
    expect(json.rank_pattern).toEqual({ [key]: 3 });
    expect(json.alpha_pattern).toEqual({ [key]: 6 });
    const again = await loadAdapter(folder);
    expect(again.modules.map((m) => [m.name, m.rank, m.scaling])).toEqual([[first.name, 3, 2], ...rest.map((m) => [m.name, 8, 4])]);
  });

  it('writes an adapter built from scratch that loads back with PEFT defaults', async () => {
    const config = createAdapterConfig({ r: 2, loraAlpha: 8, targetModules: ['q_proj'], useRslora: true, taskType: 'CAUSAL_LM' });
    const a = Tensor.f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = Tensor.f32([4, 2], [0.5, -0.5, 1, -1, 2, -2, 3, -3]);
    const folder = memoryFolder();
    await saveAdapter(folder, { config, modules: [createLoraModule(config, 'model.layers.0.self_attn.q_proj', a, b)] });
    const json = (await configOf(folder)) as Record<string, unknown>;
    expect(json).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 8,
      use_rslora: true,
      target_modules: ['q_proj'],
      use_dora: false,
      bias: 'none',
      fan_in_fan_out: false,
      task_type: 'CAUSAL_LM',
    });
    const again = await loadAdapter(folder);
    expect(again.modules[0].scaling).toBe(8 / Math.SQRT2);
    expect(Array.from(again.modules[0].b.data as Float32Array)).toEqual([0.5, -0.5, 1, -1, 2, -2, 3, -3]);
  });

  it('refuses a module whose scaling PEFT would not reproduce', async () => {
    const original = await loadAdapter(fixtureFolder('lora-qv-r8'));
    const [first, ...rest] = original.modules;
    const error = await saveAdapter(memoryFolder(), { config: original.config, modules: [{ ...first, scaling: 5 }, ...rest] }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'INVALID_OPTION')).toBe(true);
  });

  it('refuses a module the config does not target', async () => {
    const original = await loadAdapter(fixtureFolder('lora-qv-r8'));
    const [first, ...rest] = original.modules;
    const stray = { ...first, name: 'model.layers.0.mlp.up_proj' };
    const error = await saveAdapter(memoryFolder(), { config: original.config, modules: [stray, ...rest] }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'INVALID_OPTION')).toBe(true);
  });

  it('refuses factors whose shapes disagree on the rank', async () => {
    const original = await loadAdapter(fixtureFolder('lora-qv-r8'));
    const [first, ...rest] = original.modules;
    const b = Tensor.f32([first.b.shape[0], 7], new Float32Array(first.b.shape[0] * 7));
    const error = await saveAdapter(memoryFolder(), { config: original.config, modules: [{ ...first, b }, ...rest] }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'ADAPTER_RANK_MISMATCH')).toBe(true);
  });
});
