import { PLUGIN_API_VERSION, type MergerPlugin } from '@lorafuse/core';

/** A frozen merger plugin for the current plugin API. */
export function defineMerger(name: string, description: string, merge: MergerPlugin['merge']): MergerPlugin {
  return Object.freeze({ name, kind: 'merger', apiVersion: PLUGIN_API_VERSION, description, merge } satisfies MergerPlugin);
}
