import type { PluginKind } from './contract.js';

/**
 * The functions each kind of plugin must provide, checked at registration so
 * that a plugin missing one fails early with a clear message. The typed
 * interfaces of each kind live next to the code that calls them (`merge/`,
 * `prune/`).
 */
export const REQUIRED_HOOKS: Readonly<Record<PluginKind, readonly string[]>> = Object.freeze({
  importance: ['score'],
  schedule: ['ratio'],
  grouping: ['groups'],
  merger: ['merge'],
});
