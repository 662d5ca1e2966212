// Every built-in plugin in one call.
import type { PluginRegistry } from '@lorafuse/core';
import { registerMergerPlugins } from './mergers/index.js';
import { registerPruningPlugins, type PruningPluginOptions } from './pruning/index.js';

/** Options of the parameterised built-ins (`random`'s seed, `taylor`'s smoothing, the ramps' length…). */
export type BuiltinPluginOptions = PruningPluginOptions;

/**
 * Registers every built-in plugin on `registry` (e.g. `runtime.plugins`):
 * the importance metrics, groupings and schedules of
 * {@link registerPruningPlugins} and the mergers of
 * {@link registerMergerPlugins}; returns the registry. A registry that lacks
 * a built-in names this call in its `PLUGIN_NOT_FOUND` error.
 */
export function registerBuiltinPlugins(registry: PluginRegistry, options: BuiltinPluginOptions = {}): PluginRegistry {
  return registerMergerPlugins(registerPruningPlugins(registry, options));
}
