import type { LoraAdapter } from '../adapter/index.js';
import { factorMatrix } from './factor.js';
import { checkMergeInputs } from './inputs.js';
import { hstack, vstack } from './low-rank.js';
import { mergeEachModule, mergedTargets } from './result.js';
import type { MergeContext, MergeOptions } from './types.js';

/**
 * The exact merge `ΔW = Σ_i w_i·s_i·B_i·A_i`, by concatenation along the
 * rank axis with PEFT's distribution of weights and scalings:
 * `A = [w_1·s_1·A_1; …; w_n·s_n·A_n]`, `B = [B_1 … B_n]`, rank `Σ r_i`,
 * scaling 1 — PEFT's `cat` combination type. Modules are the union of the
 * adapters' (as in PEFT): a module an adapter lacks takes nothing from it.
 * Throws `MERGE_INCOMPATIBLE` when a module's shapes differ between
 * adapters, and `INVALID_OPTION` for bad weights.
 */
export async function catMerge(adapters: readonly LoraAdapter[], options: MergeOptions = {}, context?: MergeContext): Promise<LoraAdapter> {
  const { weights, modules } = checkMergeInputs(adapters, options, { unionModules: true });
  return mergeEachModule(adapters, modules, context, ({ name, members, owners }) => ({
    name,
    a: vstack(members.map((m, k) => factorMatrix(m.a, weights[owners[k]] * m.scaling))),
    b: hstack(members.map((m) => factorMatrix(m.b))),
    scaling: 1,
  }));
}

/**
 * Checks, without merging, that {@link catMerge} accepts `adapters`: their
 * shared modules agree in shape and their `target_modules` combine (all
 * lists, or all regular expressions). Throws what `catMerge` would:
 * `MERGE_INCOMPATIBLE`, `INVALID_OPTION` for no adapters.
 */
export function checkCatMerge(adapters: readonly LoraAdapter[]): void {
  checkMergeInputs(adapters, {}, { unionModules: true });
  mergedTargets(adapters.map((a) => a.config));
}
