import { loraScaling } from './targeting.js';
import type { LoraAdapter } from './types.js';

/** One module in {@link AdapterDescription}. */
export interface AdapterModuleDescription {
  name: string;
  r: number;
  alpha: number;
  scaling: number;
  in: number;
  out: number;
}

/** What `lorafuse info --json` prints for an adapter (DESIGN §5; keys are stable). */
export interface AdapterDescription {
  kind: 'adapter';
  /** The config's default rank. */
  r: number;
  /** The config's default alpha. */
  lora_alpha: number;
  use_rslora: boolean;
  /** The default scaling (before per-module patterns). */
  scaling: number;
  /** The target list; for a regular expression, the module kinds it selected (see `target_modules_regex`). */
  target_modules: string[];
  /** `target_modules` when the config gives a regular expression. */
  target_modules_regex?: string;
  modules: AdapterModuleDescription[];
  /** Elements of all A and B factors. */
  parameters: number;
}

/** The `info` summary of an adapter: config-level rank, alpha and scaling, and every module's. */
export function describeAdapter(adapter: LoraAdapter): AdapterDescription {
  const { config } = adapter;
  const targets = config.targetModules;
  const modules = adapter.modules.map((m) => ({ name: m.name, r: m.rank, alpha: m.alpha, scaling: m.scaling, in: m.a.shape[1], out: m.b.shape[0] }));
  return {
    kind: 'adapter',
    r: config.r,
    lora_alpha: config.loraAlpha,
    use_rslora: config.useRslora,
    scaling: loraScaling(config.loraAlpha, config.r, config.useRslora),
    target_modules: typeof targets === 'string' ? [...new Set(modules.map((m) => m.name.slice(m.name.lastIndexOf('.') + 1)))].sort() : [...targets],
    ...(typeof targets === 'string' ? { target_modules_regex: targets } : {}),
    modules,
    parameters: adapter.modules.reduce((n, m) => n + m.a.size + m.b.size, 0),
  };
}
