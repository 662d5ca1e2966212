// registerBuiltinPlugins registers exactly the built-ins core lists as data
// (BUILTIN_PLUGIN_NAMES), so that the PLUGIN_NOT_FOUND hint for a missing
// built-in cannot drift from what the call provides; and that hint names the
// call, while an unknown name gets none.
import { describe, expect, it } from 'vitest';
import { BUILTIN_PLUGIN_NAMES, PLUGIN_KINDS, PluginRegistry, isLoraFuseError } from '@lorafuse/core';
import { registerBuiltinPlugins, registerMergerPlugins, registerPruningPlugins } from '@lorafuse/plugins';

const lookupError = (registry: PluginRegistry, kind: (typeof PLUGIN_KINDS)[number], name: string) => {
  try {
    registry.get(kind, name);
  } catch (error) {
    if (isLoraFuseError(error, 'PLUGIN_NOT_FOUND')) return error;
    throw error;
  }
  throw new Error(`${kind} ${name} was found`);
};

describe('registerBuiltinPlugins', () => {
  it('registers every built-in of every kind, the same names core lists, and the same as the two per-family calls', () => {
    const all = registerBuiltinPlugins(new PluginRegistry());
    const both = registerMergerPlugins(registerPruningPlugins(new PluginRegistry()));
    for (const kind of PLUGIN_KINDS) {
      expect(all.names(kind)).toEqual([...BUILTIN_PLUGIN_NAMES[kind]]);
      expect(all.names(kind)).toEqual(both.names(kind));
    }
  });

  it('passes the options to the parameterised built-ins', () => {
    const registry = registerBuiltinPlugins(new PluginRegistry(), { random: { seed: 7 } });
    expect(registry.get('importance', 'random').description).toContain('seed 7');
  });

  it('a built-in missing from a registry is PLUGIN_NOT_FOUND naming registerBuiltinPlugins; an unknown name is not', () => {
    const mergersOnly = registerMergerPlugins(new PluginRegistry());
    for (const kind of PLUGIN_KINDS) {
      for (const name of BUILTIN_PLUGIN_NAMES[kind]) {
        if (mergersOnly.has(kind, name)) continue;
        const error = lookupError(mergersOnly, kind, name);
        expect(error.message).toContain(`"${name}" is a built-in: register the built-ins with registerBuiltinPlugins(registry) from '@lorafuse/plugins'.`);
      }
    }
    const unknown = lookupError(registerBuiltinPlugins(new PluginRegistry()), 'importance', 'fisher');
    expect(unknown.message).toBe('No importance plugin named "fisher"; registered: magnitude, wanda, lora, taylor, random.');
  });
});
