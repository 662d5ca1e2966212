// PEFT 0.21's rules for which modules a LoRA config adapts and with what
// rank and alpha (peft/utils/other.py `get_pattern_key`,
// peft/tuners/tuners_utils.py `check_target_module_exists`), reproduced so
// that an adapter means the same thing here as in PEFT.
import { pythonRegex } from './python-regex.js';
import type { AdapterConfig } from './types.js';

/** PEFT's `re.fullmatch(pattern, name)` for `target_modules`/`exclude_modules` given as a string. */
export function fullMatchRegex(pattern: string, field: string): RegExp {
  return pythonRegex(pattern, (p) => `^(?:${p})$`, field);
}

/** `get_pattern_key`'s `re.match(rf"(.*\.)?({key})$", name)` for a rank/alpha pattern key. */
export function patternKeyRegex(key: string, field: string): RegExp {
  return pythonRegex(key, (p) => `^(.*\\.)?(${p})$`, `${field} key`);
}

/** The layer index after a `layers_pattern` entry (the last group), matched lazily as PEFT does. */
export function layerIndexRegex(pattern: string): RegExp {
  return pythonRegex(pattern, (p) => `^(?:^|.*?\\.)${p}\\.(\\d+)\\.`, 'layers_pattern');
}

/**
 * The first key of a `rank_pattern`/`alpha_pattern` that matches module
 * `name`: a key matches when it matches a whole dot-separated tail of the
 * name (Python `re.match(rf"(.*\.)?({key})$", name)`).
 */
function patternKey(pattern: Readonly<Record<string, number>>, name: string, field: string): string | undefined {
  return Object.keys(pattern).find((key) => patternKeyRegex(key, field).test(name));
}

/** PEFT's LoRA scaling: `alpha / rank`, or `alpha / √rank` with rsLoRA. */
export function loraScaling(alpha: number, rank: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
}

/** Rank, alpha and scaling PEFT gives module `name` under `config` (pattern overrides applied). */
export function moduleHyperparameters(config: AdapterConfig, name: string): { rank: number; alpha: number; scaling: number } {
  const rKey = patternKey(config.rankPattern, name, 'rank_pattern');
  const aKey = patternKey(config.alphaPattern, name, 'alpha_pattern');
  const rank = rKey === undefined ? config.r : config.rankPattern[rKey];
  const alpha = aKey === undefined ? config.loraAlpha : config.alphaPattern[aKey];
  return { rank, alpha, scaling: loraScaling(alpha, rank, config.useRslora) };
}

/**
 * True when PEFT would put a LoRA on base-model module `name` (e.g.
 * `model.layers.0.self_attn.q_proj`) under `config`: `exclude_modules`
 * first, then `target_modules` (a list matches the whole name or a
 * dot-separated suffix; a string is a regular expression matched against
 * the whole name), then `layers_to_transform`/`layers_pattern`.
 */
export function isTargetModule(config: AdapterConfig, name: string): boolean {
  if (matchesModuleList(config.excludeModules, name, 'exclude_modules')) return false;
  const targets = config.targetModules;
  if (typeof targets === 'string') return matchesModuleList(targets, name, 'target_modules');
  if (targets.includes(name)) return true;
  if (!targets.some((t) => name.endsWith(`.${t}`))) return false;
  const layers = config.layersToTransform;
  if (layers === null || (Array.isArray(layers) && layers.length === 0)) return true;
  const index = layerIndex(config.layersPattern, name);
  if (index === undefined) return false;
  return typeof layers === 'number' ? index === layers : layers.includes(index);
}

function matchesModuleList(list: readonly string[] | string | null, name: string, field: string): boolean {
  if (list === null) return false;
  if (typeof list === 'string') return fullMatchRegex(list, field).test(name);
  return list.includes(name) || list.some((t) => name.endsWith(`.${t}`));
}

/** The first numbered segment after the layer list (PEFT matches lazily so nested indices are skipped). */
function layerIndex(layersPattern: readonly string[] | string | null, name: string): number | undefined {
  const patterns = layersPattern === null || layersPattern.length === 0 ? [null] : typeof layersPattern === 'string' ? [layersPattern] : layersPattern;
  for (const p of patterns) {
    const re = p === null ? /^.*?\.[^.]*\.(\d+)\./ : layerIndexRegex(p);
    const match = re.exec(name);
    if (match) return Number(match[match.length - 1]);
  }
  return undefined;
}
