import { LoraFuseError } from '../errors/index.js';
import { BUILTIN_PLUGIN_NAMES, BUILTIN_PLUGINS_CALL } from './builtins.js';
import { PLUGIN_API_VERSION, PLUGIN_KINDS, type Plugin, type PluginKind } from './contract.js';
import { REQUIRED_HOOKS } from './hooks.js';

const NAME = /^[a-z0-9][a-z0-9_.:/-]*$/;

/**
 * The plugins known to one runtime, by kind and name. Each runtime has its
 * own registry: registration is explicit, and nothing is global.
 */
export class PluginRegistry {
  readonly #byKind = new Map<PluginKind, Map<string, Plugin>>();

  /** Validates and adds `plugin`; throws `PLUGIN_INVALID` or `PLUGIN_DUPLICATE`. */
  register<P extends Plugin>(plugin: P): P {
    checkPlugin(plugin);
    const named = this.#byKind.get(plugin.kind) ?? new Map<string, Plugin>();
    if (named.has(plugin.name)) {
      throw new LoraFuseError('PLUGIN_DUPLICATE', `A ${plugin.kind} plugin named "${plugin.name}" is already registered; pick another name.`, {
        details: { kind: plugin.kind, name: plugin.name },
      });
    }
    named.set(plugin.name, plugin);
    this.#byKind.set(plugin.kind, named);
    return plugin;
  }

  /**
   * The plugin of `kind` named `name`; throws `PLUGIN_NOT_FOUND` listing what
   * is registered and, for the name of a built-in, the call that registers
   * the built-ins ({@link BUILTIN_PLUGINS_CALL}).
   */
  get<K extends PluginKind>(kind: K, name: string): Plugin<K> {
    const plugin = this.#byKind.get(kind)?.get(name);
    if (!plugin) {
      const known = this.names(kind);
      const builtin = BUILTIN_PLUGIN_NAMES[kind].includes(name);
      const hint = builtin ? ` "${name}" is a built-in: register the built-ins with ${BUILTIN_PLUGINS_CALL}.` : '';
      throw new LoraFuseError('PLUGIN_NOT_FOUND', `No ${kind} plugin named "${name}"; registered: ${known.length ? known.join(', ') : 'none'}.${hint}`, {
        details: { kind, name, known, builtin },
      });
    }
    return plugin as Plugin<K>;
  }

  /** True when a plugin of `kind` named `name` is registered. */
  has(kind: PluginKind, name: string): boolean {
    return this.#byKind.get(kind)?.has(name) ?? false;
  }

  /** The registered plugins of `kind`, in registration order. */
  list<K extends PluginKind>(kind: K): Plugin<K>[] {
    return [...(this.#byKind.get(kind)?.values() ?? [])] as Plugin<K>[];
  }

  /** The names of the registered plugins of `kind`. */
  names(kind: PluginKind): string[] {
    return [...(this.#byKind.get(kind)?.keys() ?? [])];
  }
}

function checkPlugin(plugin: unknown): asserts plugin is Plugin {
  const invalid = (why: string) => new LoraFuseError('PLUGIN_INVALID', `Invalid plugin: ${why}`, { details: { why } });
  if (typeof plugin !== 'object' || plugin === null) throw invalid('a plugin is a plain object with name, kind and apiVersion.');
  const p = plugin as Record<string, unknown>;
  if (typeof p.name !== 'string' || !NAME.test(p.name)) {
    throw invalid(`name ${JSON.stringify(p.name)} must be a lowercase identifier (letters, digits, - _ . : /).`);
  }
  if (!PLUGIN_KINDS.includes(p.kind as PluginKind)) {
    throw invalid(`plugin "${p.name}" has kind ${JSON.stringify(p.kind)}; expected one of ${PLUGIN_KINDS.join(', ')}.`);
  }
  if (p.apiVersion !== PLUGIN_API_VERSION) {
    throw invalid(`plugin "${p.name}" targets apiVersion ${JSON.stringify(p.apiVersion)}; this @lorafuse/core implements ${PLUGIN_API_VERSION}.`);
  }
  if (p.description !== undefined && typeof p.description !== 'string') throw invalid(`plugin "${p.name}" has a non-string description.`);
  for (const hook of REQUIRED_HOOKS[p.kind as PluginKind]) {
    if (typeof p[hook] !== 'function') throw invalid(`${p.kind} plugin "${p.name}" must provide a ${hook}() function.`);
  }
}
