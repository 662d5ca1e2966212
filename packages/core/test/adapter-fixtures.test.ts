// Every PEFT-saved fixture adapter, loaded by LoRAFuse, against what PEFT
// itself read back (make_fixtures.py's records): modules, ranks, alphas,
// scalings and every tensor's values.
import { describe, expect, it } from 'vitest';
import { describeAdapter, isLoraFuseError, isTargetModule, loadAdapter } from '@lorafuse/core';
import { expectTensorMatches, fixtureFolder, fixtureNames, record, type ModelRecord } from './fixtures/index.js';

const adapters = fixtureNames('adapter');
const loadable = adapters.filter((name) => record(name).config_json.use_dora !== true);

describe('PEFT fixture adapters', () => {
  it('covers the variants the fixture script writes', () => {
    expect(adapters).toEqual(
      expect.arrayContaining([
        'lora-qv-r8',
        'lora-rslora',
        'lora-patterns',
        'lora-regex',
        'lora-all7',
        'lora-layers',
        'lora-dora',
        'lora-default-keys',
        'lora-bf16',
        'lora-qwen2',
      ]),
    );
  });

  describe.each(loadable)('%s', (name) => {
    const rec = record(name);

    it('loads the modules PEFT built, with its rank, alpha and scaling', async () => {
      const adapter = await loadAdapter(fixtureFolder(name));
      expect(adapter.modules.map((m) => m.name).sort()).toEqual(rec.modules.map((m) => m.name).sort());
      for (const m of rec.modules) {
        const mine = adapter.modules.find((x) => x.name === m.name)!;
        expect(mine.rank, `${m.name} rank`).toBe(m.r);
        expect(mine.alpha, `${m.name} alpha`).toBe(m.alpha);
        // PEFT computes the scaling in Python floats, as LoRAFuse does in JS numbers: equal bits.
        expect(mine.scaling, `${m.name} scaling`).toBe(m.scaling);
      }
    });

    it('holds every tensor PEFT holds, value for value', async () => {
      const adapter = await loadAdapter(fixtureFolder(name));
      for (const m of rec.modules) {
        const mine = adapter.modules.find((x) => x.name === m.name)!;
        expect([...mine.a.shape]).toEqual(m.a_shape);
        expect([...mine.b.shape]).toEqual(m.b_shape);
        expectTensorMatches(mine.a, m.a, `${m.name} A`);
        expectTensorMatches(mine.b, m.b, `${m.name} B`);
      }
      // Nothing in the file was skipped: two tensors per module.
      expect(Object.keys(rec.files['adapter_model.safetensors'])).toHaveLength(2 * adapter.modules.length);
    });

    it('reads the config as PEFT wrote it', async () => {
      const { config } = await loadAdapter(fixtureFolder(name));
      const json = rec.config_json;
      expect(config.r).toBe(json.r);
      expect(config.loraAlpha).toBe(json.lora_alpha);
      expect(config.useRslora).toBe(json.use_rslora);
      expect(config.targetModules).toEqual(json.target_modules);
      expect(config.rankPattern).toEqual(json.rank_pattern);
      expect(config.alphaPattern).toEqual(json.alpha_pattern);
      expect(config.layersToTransform).toEqual(json.layers_to_transform);
      expect(config.baseModelNameOrPath).toBe(rec.base_model);
    });

    it('selects exactly the base-model layers PEFT adapted', () => {
      // The base model's linear layers are its 2-D weights; PEFT's choice among them is the record's module list.
      const base = record<ModelRecord>(rec.base_model);
      const linear = Object.keys(base.tensors)
        .filter((t) => t.endsWith('.weight') && base.tensors[t].shape.length === 2)
        .map((t) => t.slice(0, -'.weight'.length));
      return loadAdapter(fixtureFolder(name)).then(({ config }) => {
        expect(linear.filter((l) => isTargetModule(config, l)).sort()).toEqual(rec.modules.map((m) => m.name).sort());
      });
    });

    it('describes itself for `lorafuse info --json` as PEFT sees it', async () => {
      const summary = describeAdapter(await loadAdapter(fixtureFolder(name)));
      const json = rec.config_json;
      expect(summary.kind).toBe('adapter');
      expect(summary.r).toBe(json.r);
      expect(summary.lora_alpha).toBe(json.lora_alpha);
      expect(summary.use_rslora).toBe(json.use_rslora);
      const r = json.r as number;
      const alpha = json.lora_alpha as number;
      expect(summary.scaling).toBe(json.use_rslora ? alpha / Math.sqrt(r) : alpha / r);
      expect(summary.parameters).toBe(rec.parameters);
      expect(new Map(summary.modules.map((m) => [m.name, m]))).toEqual(
        new Map(rec.modules.map((m) => [m.name, { name: m.name, r: m.r, alpha: m.alpha, scaling: m.scaling, in: m.a_shape[1], out: m.b_shape[0] }])),
      );
    });
  });

  it('keeps bf16 factors in bf16', async () => {
    const adapter = await loadAdapter(fixtureFolder('lora-bf16'));
    expect(new Set(adapter.modules.flatMap((m) => [m.a.dtype, m.b.dtype]))).toEqual(new Set(['bf16']));
  });

  it('accepts keys that keep the ".default." adapter name', async () => {
    const rec = record('lora-default-keys');
    expect(Object.keys(rec.files['adapter_model.safetensors']).every((k) => k.includes('.default.'))).toBe(true);
    expect((await loadAdapter(fixtureFolder('lora-default-keys'))).modules).toHaveLength(rec.modules.length);
  });

  it('reports the paper setting (r=8, alpha=32, q_proj+v_proj) with scaling 4', async () => {
    const summary = describeAdapter(await loadAdapter(fixtureFolder('lora-qv-r8')));
    expect(summary.scaling).toBe(4);
    expect([...summary.target_modules].sort()).toEqual(['q_proj', 'v_proj']);
    expect(summary.modules).toHaveLength(4);
  });

  it('lists the module kinds a regex target selected', async () => {
    const summary = describeAdapter(await loadAdapter(fixtureFolder('lora-regex')));
    expect(summary.target_modules).toEqual(['down_proj', 'k_proj', 'q_proj']);
    expect(summary.target_modules_regex).toBe(record('lora-regex').config_json.target_modules);
  });

  it('refuses the DoRA adapter PEFT saved, saying it is DoRA', async () => {
    const error = await loadAdapter(fixtureFolder('lora-dora')).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'ADAPTER_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toMatch(/DoRA/);
  });
});
