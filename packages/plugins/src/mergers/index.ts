// The built-in merge strategies: exact concatenation, summed factors, and PEFT's combination types.
import type { MergerPlugin, PluginRegistry } from '@lorafuse/core';
import { catMerger, factoredMerger } from './exact.js';
import { lorahubMerger } from './lorahub.js';
import { peftMergers } from './peft.js';

export { catMerger, factoredMerger } from './exact.js';
export { lorahubMerger } from './lorahub.js';
export { peftMergers, type FactorwiseType, type SvdType } from './peft.js';

/**
 * Every built-in merger: `cat` (exact, also PEFT's `cat`), `factored`,
 * `lorahub`, and
 * PEFT's `linear`, `ties`, `dare_linear`, `dare_ties`, `magnitude_prune`,
 * `svd`, `ties_svd`, `dare_linear_svd`, `dare_ties_svd`,
 * `magnitude_prune_svd`.
 */
export const mergerPlugins: readonly MergerPlugin[] = Object.freeze([catMerger, factoredMerger, lorahubMerger, ...peftMergers]);

/** Registers {@link mergerPlugins} on `registry` (e.g. `runtime.plugins`); returns the registry. */
export function registerMergerPlugins(registry: PluginRegistry): PluginRegistry {
  for (const plugin of mergerPlugins) registry.register(plugin);
  return registry;
}
