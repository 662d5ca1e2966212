// adapter_config.json parsing and PEFT 0.21's targeting and scaling rules,
// checked on hand-worked cases of its regular-expression semantics
// (`get_pattern_key`: re.match(rf"(.*\.)?({key})$", name);
// `check_target_module_exists`: suffix match, re.fullmatch, layer indices).
import { describe, expect, it } from 'vitest';
import { adapterConfigToJson, createAdapterConfig, isTargetModule, loraScaling, moduleHyperparameters, parseAdapterConfig } from '@lorafuse/core';
import { codeOf } from './error-code.js';

const base = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] };
const config = (extra: Record<string, unknown> = {}) => parseAdapterConfig({ ...base, ...extra });
const q = (layer: number) => `model.layers.${layer}.self_attn.q_proj`;
const v = (layer: number) => `model.layers.${layer}.self_attn.v_proj`;

describe('parseAdapterConfig', () => {
  it("fills PEFT's defaults for what a config omits", () => {
    const c = config();
    expect(c).toMatchObject({ peftType: 'LORA', r: 8, loraAlpha: 16, useRslora: false, rankPattern: {}, alphaPattern: {}, bias: 'none', loraDropout: 0 });
    expect(c.layersToTransform).toBeNull();
    expect(c.excludeModules).toBeNull();
    expect(c.taskType).toBeNull();
  });

  it('keeps unknown keys and writes them back', () => {
    const c = config({ some_future_option: { nested: [1, 2] }, inference_mode: true });
    expect(c.extra).toEqual({ some_future_option: { nested: [1, 2] }, inference_mode: true });
    const json = adapterConfigToJson(c);
    expect(json.some_future_option).toEqual({ nested: [1, 2] });
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(parseAdapterConfig(json)).toEqual(c);
  });

  it('accepts plain-LoRA values of the keys it refuses otherwise', () => {
    expect(
      codeOf(() => config({ use_dora: false, fan_in_fan_out: false, lora_bias: false, modules_to_save: null, layer_replication: null, target_parameters: [] })),
    ).toBeUndefined();
    expect(codeOf(() => config({ modules_to_save: [] }))).toBeUndefined();
  });

  it('takes a regular expression as target_modules', () => {
    expect(config({ target_modules: '.*\\.(q|v)_proj' }).targetModules).toBe('.*\\.(q|v)_proj');
  });

  it('builds new configs that parse back to themselves', () => {
    const c = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: ['q_proj'], rankPattern: { v_proj: 2 } });
    expect(parseAdapterConfig(adapterConfigToJson(c))).toEqual(c);
    expect(adapterConfigToJson(c)).toMatchObject({ peft_type: 'LORA', use_dora: false, fan_in_fan_out: false, modules_to_save: null });
  });
});

describe('scaling', () => {
  it('is alpha/r, or alpha/√r with rsLoRA', () => {
    expect(loraScaling(32, 8, false)).toBe(4);
    expect(loraScaling(8, 16, true)).toBe(2);
    expect(loraScaling(3, 6, false)).toBe(0.5);
    expect(moduleHyperparameters(config({ use_rslora: true, r: 4, lora_alpha: 6 }), q(0))).toEqual({ rank: 4, alpha: 6, scaling: 3 });
  });

  it('takes rank and alpha from the first pattern key matching a dot-separated tail of the name', () => {
    const c = config({
      rank_pattern: { v_proj: 2, 'model.layers.1.self_attn.v_proj': 6, 'layers.0.self_attn.q_proj': 4 },
      alpha_pattern: { '(q|k)_proj': 32 },
    });
    // First match wins even when a later key is more specific.
    expect(moduleHyperparameters(c, v(1))).toEqual({ rank: 2, alpha: 16, scaling: 8 });
    expect(moduleHyperparameters(c, q(0))).toEqual({ rank: 4, alpha: 32, scaling: 8 });
    // "layers.0" must not match "layers.10": the key is anchored at a dot and at the end.
    expect(moduleHyperparameters(c, q(10))).toEqual({ rank: 8, alpha: 32, scaling: 4 });
  });

  it('does not match a key inside a longer segment', () => {
    const c = config({ rank_pattern: { q_proj: 2 } });
    expect(moduleHyperparameters(c, 'model.layers.0.self_attn.xq_proj').rank).toBe(8);
    expect(moduleHyperparameters(c, 'model.layers.0.self_attn.q_proj_extra').rank).toBe(8);
    expect(moduleHyperparameters(c, 'q_proj').rank).toBe(2);
  });

  it("reads Python's named groups", () => {
    expect(moduleHyperparameters(config({ rank_pattern: { '(?P<kind>q)_proj': 3 } }), q(0)).rank).toBe(3);
  });
});

describe('isTargetModule', () => {
  it('matches list entries as whole names or dot-separated suffixes', () => {
    const c = config({ target_modules: ['q_proj', 'model.layers.1.mlp.up_proj'] });
    expect(isTargetModule(c, q(0))).toBe(true);
    expect(isTargetModule(c, 'model.layers.0.self_attn.xq_proj')).toBe(false);
    expect(isTargetModule(c, 'model.layers.1.mlp.up_proj')).toBe(true);
    expect(isTargetModule(c, 'model.layers.0.mlp.up_proj')).toBe(false);
  });

  it('matches a regular expression against the whole name', () => {
    const c = config({ target_modules: 'model\\.layers\\.\\d+\\.self_attn\\.q_proj' });
    expect(isTargetModule(c, q(3))).toBe(true);
    expect(isTargetModule(c, `base.${q(3)}`)).toBe(false);
    expect(isTargetModule(config({ target_modules: 'q_proj' }), q(3))).toBe(false);
  });

  it('applies exclude_modules first', () => {
    expect(isTargetModule(config({ exclude_modules: ['layers.0.self_attn.q_proj'] }), q(0))).toBe(false);
    expect(isTargetModule(config({ exclude_modules: '.*\\.0\\..*' }), q(0))).toBe(false);
    expect(isTargetModule(config({ exclude_modules: '.*\\.0\\..*' }), q(1))).toBe(true);
  });

  it('keeps only layers_to_transform, reading the first index after the layer list', () => {
    const c = config({ layers_to_transform: [1, 3] });
    expect([0, 1, 2, 3].map((i) => isTargetModule(c, q(i)))).toEqual([false, true, false, true]);
    expect(isTargetModule(config({ layers_to_transform: 2 }), q(2))).toBe(true);
    // A nested index (an expert) is not taken for the layer index.
    const moe = config({ target_modules: ['w1'], layers_to_transform: [1] });
    expect(isTargetModule(moe, 'model.layers.1.experts.0.w1')).toBe(true);
    expect(isTargetModule(moe, 'model.layers.0.experts.1.w1')).toBe(false);
    // An empty list selects every layer, as in PEFT.
    expect(isTargetModule(config({ layers_to_transform: [] }), q(5))).toBe(true);
  });

  it('reads the layer index after layers_pattern', () => {
    const c = config({ target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: ['blocks', 'h'] });
    expect(isTargetModule(c, 'transformer.h.0.attn.q_proj')).toBe(true);
    expect(isTargetModule(c, 'transformer.h.1.attn.q_proj')).toBe(false);
    expect(isTargetModule(c, q(0))).toBe(false);
  });
});

describe('parseAdapterConfig refuses bad configs with a specific code', () => {
  const cases: Array<[string, unknown, string]> = [
    ['an array', [base], 'ADAPTER_CONFIG_INVALID'],
    ['null', null, 'ADAPTER_CONFIG_INVALID'],
    ['no peft_type', { ...base, peft_type: undefined }, 'ADAPTER_CONFIG_INVALID'],
    ['peft_type IA3', { ...base, peft_type: 'IA3' }, 'ADAPTER_UNSUPPORTED'],
    ['peft_type ADALORA', { ...base, peft_type: 'ADALORA' }, 'ADAPTER_UNSUPPORTED'],
    ['r as a string', { ...base, r: '8' }, 'ADAPTER_CONFIG_INVALID'],
    ['r = 0', { ...base, r: 0 }, 'ADAPTER_CONFIG_INVALID'],
    ['fractional r', { ...base, r: 2.5 }, 'ADAPTER_CONFIG_INVALID'],
    ['no lora_alpha', { ...base, lora_alpha: undefined }, 'ADAPTER_CONFIG_INVALID'],
    ['lora_alpha as a string', { ...base, lora_alpha: '16' }, 'ADAPTER_CONFIG_INVALID'],
    ['no target_modules', { ...base, target_modules: null }, 'ADAPTER_CONFIG_INVALID'],
    ['target_modules a number', { ...base, target_modules: 5 }, 'ADAPTER_CONFIG_INVALID'],
    ['target_modules of numbers', { ...base, target_modules: [1, 2] }, 'ADAPTER_CONFIG_INVALID'],
    ['target_modules an invalid regex', { ...base, target_modules: '(q_proj' }, 'ADAPTER_CONFIG_INVALID'],
    ['use_rslora a string', { ...base, use_rslora: 'yes' }, 'ADAPTER_CONFIG_INVALID'],
    ['exclude_modules an invalid regex', { ...base, exclude_modules: 'q_proj)' }, 'ADAPTER_CONFIG_INVALID'],
    ['layers_pattern an invalid regex', { ...base, layers_to_transform: [0], layers_pattern: 'layers[' }, 'ADAPTER_CONFIG_INVALID'],
    ['rank_pattern a list', { ...base, rank_pattern: [] }, 'ADAPTER_CONFIG_INVALID'],
    ['rank_pattern rank 0', { ...base, rank_pattern: { q_proj: 0 } }, 'ADAPTER_CONFIG_INVALID'],
    ['rank_pattern invalid key', { ...base, rank_pattern: { '[q': 2 } }, 'ADAPTER_CONFIG_INVALID'],
    ['alpha_pattern a string value', { ...base, alpha_pattern: { q_proj: 'x' } }, 'ADAPTER_CONFIG_INVALID'],
    ['bias unknown', { ...base, bias: 'some' }, 'ADAPTER_CONFIG_INVALID'],
    ['lora_dropout 1.5', { ...base, lora_dropout: 1.5 }, 'ADAPTER_CONFIG_INVALID'],
    ['layers_to_transform negative', { ...base, layers_to_transform: [-1] }, 'ADAPTER_CONFIG_INVALID'],
    ['layers_to_transform with a regex target', { ...base, target_modules: '.*q_proj', layers_to_transform: [0] }, 'ADAPTER_CONFIG_INVALID'],
    ['layers_pattern without layers_to_transform', { ...base, layers_pattern: 'layers' }, 'ADAPTER_CONFIG_INVALID'],
    ['task_type a number', { ...base, task_type: 3 }, 'ADAPTER_CONFIG_INVALID'],
    ['DoRA', { ...base, use_dora: true }, 'ADAPTER_UNSUPPORTED'],
    ['use_dora a string', { ...base, use_dora: 'true' }, 'ADAPTER_CONFIG_INVALID'],
    ['fan_in_fan_out', { ...base, fan_in_fan_out: true }, 'ADAPTER_UNSUPPORTED'],
    ['lora_bias', { ...base, lora_bias: true }, 'ADAPTER_UNSUPPORTED'],
    ['modules_to_save', { ...base, modules_to_save: ['lm_head'] }, 'ADAPTER_UNSUPPORTED'],
    ['layer_replication', { ...base, layer_replication: [[0, 2]] }, 'ADAPTER_UNSUPPORTED'],
    ['target_parameters', { ...base, target_parameters: ['experts.w1'] }, 'ADAPTER_UNSUPPORTED'],
    ['trainable_token_indices', { ...base, trainable_token_indices: [1, 2] }, 'ADAPTER_UNSUPPORTED'],
  ];
  it.each(cases.map(([name, json, code]) => ({ name, json, code })))('$name → $code', ({ json, code }) => {
    expect(codeOf(() => parseAdapterConfig(json))).toBe(code);
  });

  it('names the refused feature', () => {
    try {
      parseAdapterConfig({ ...base, use_dora: true });
    } catch (e) {
      expect((e as Error).message).toMatch(/DoRA/);
      return;
    }
    throw new Error('not refused');
  });
});
