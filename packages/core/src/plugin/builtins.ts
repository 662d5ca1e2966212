import type { PluginKind } from './contract.js';

/** How to register every built-in plugin; the error for a missing built-in quotes it. */
export const BUILTIN_PLUGINS_CALL = "registerBuiltinPlugins(registry) from '@lorafuse/plugins'";

/**
 * The names of the plugins `@lorafuse/plugins` provides, by kind. Core
 * holds them as data only (it has no dependency on the plugins package), so
 * that looking up a built-in in a registry that lacks it can say which call
 * registers it; a test of `@lorafuse/plugins` keeps the list equal to what
 * that call registers.
 */
export const BUILTIN_PLUGIN_NAMES: Readonly<Record<PluginKind, readonly string[]>> = Object.freeze({
  importance: Object.freeze(['magnitude', 'wanda', 'lora', 'taylor', 'random']),
  schedule: Object.freeze(['constant', 'linear', 'cubic', 'every-n-steps', 'once']),
  grouping: Object.freeze(['module', 'row', 'global', '2:4', '4:8']),
  merger: Object.freeze([
    'cat',
    'factored',
    'lorahub',
    'linear',
    'ties',
    'dare_linear',
    'dare_ties',
    'magnitude_prune',
    'svd',
    'ties_svd',
    'dare_linear_svd',
    'dare_ties_svd',
    'magnitude_prune_svd',
  ]),
});
