import { LoraFuseError } from '../errors/index.js';
import { BUILTIN_PLUGINS_CALL } from '../plugin/builtins.js';
import { PLUGIN_KINDS, type Plugin, type PluginKind } from '../plugin/contract.js';
import { REQUIRED_HOOKS } from '../plugin/hooks.js';
import type { PluginRegistry } from '../plugin/registry.js';

/**
 * A plugin given by object or by name: a name is looked up in `registry`
 * (`PLUGIN_NOT_FOUND` lists what is registered); an object must be a
 * plugin of `kind` with its hook (`PLUGIN_INVALID`).
 */
export function resolvePlugin<P extends Plugin>(kind: PluginKind, given: P | string, registry: PluginRegistry | undefined, option: string): P {
  if (typeof given === 'string') {
    if (!registry) {
      throw new LoraFuseError(
        'INVALID_OPTION',
        `${option} "${given}" is a plugin name, but no plugin registry was given to look it up; pass \`plugins\` (e.g. runtime.plugins after ${BUILTIN_PLUGINS_CALL}) or the plugin object.`,
        {
          details: { option, name: given },
        },
      );
    }
    return registry.get(kind, given) as unknown as P;
  }
  const p = given as Partial<Plugin> & Record<string, unknown>;
  const hook = REQUIRED_HOOKS[kind][0];
  if (typeof given !== 'object' || given === null || p.kind !== kind || typeof p[hook] !== 'function') {
    throw new LoraFuseError(
      'PLUGIN_INVALID',
      `${option} must be a ${kind} plugin (kind "${kind}" with a ${hook}() function) or its name; got ${describe(given)}.`,
      {
        details: { option, expected: kind, kinds: PLUGIN_KINDS },
      },
    );
  }
  return given;
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? String(value);
  const { kind, name } = value as Partial<Plugin>;
  return `a ${String(kind)} plugin named ${JSON.stringify(name)}`;
}
