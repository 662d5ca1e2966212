import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isLoraFuseError, LoraFuseError, PLUGIN_KINDS, PluginRegistry, Runtime, type BackendFactory, type Plugin } from '@lorafuse/core';
import { registerBuiltinPlugins } from '@lorafuse/plugins';
import { BACKEND_PACKAGES, importBackendPackage, importModule, notInstalledBackend, type ModuleImporter } from './backend-packages.js';

/**
 * The plugin registry the CLI resolves names in: every built-in (`random`
 * seeded by `--seed`), then the plugins loaded from `--plugin` modules.
 */
export function cliPlugins(seed = 0, extra: readonly Plugin[] = []): PluginRegistry {
  const registry = registerBuiltinPlugins(new PluginRegistry(), { random: { seed } });
  for (const plugin of extra) registry.register(plugin);
  return registry;
}

/**
 * Imports the `--plugin` modules (a file path, or a package name resolved
 * from the working directory) and returns the plugins they export: every
 * export that is an object with a plugin `kind`, or an array of them (a
 * default export may be either). Throws `FILE_NOT_FOUND` for a module that
 * cannot be found and `PLUGIN_INVALID` for one that fails to load or
 * exports no plugin; the registry then checks each plugin.
 */
export async function loadPluginModules(specifiers: unknown): Promise<Plugin[]> {
  const list = specifiers === undefined ? [] : ([] as unknown[]).concat(specifiers).map(String);
  const plugins: Plugin[] = [];
  for (const specifier of list) {
    const url = moduleUrl(specifier);
    let module: Record<string, unknown>;
    try {
      module = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    } catch (cause) {
      throw new LoraFuseError('PLUGIN_INVALID', `--plugin ${specifier} failed to load: ${(cause as Error).message}`, { cause });
    }
    const found = Object.values(module)
      .flatMap((value) => (Array.isArray(value) ? value : [value]))
      .filter(isPluginLike);
    if (found.length === 0) {
      throw new LoraFuseError(
        'PLUGIN_INVALID',
        `--plugin ${specifier} exports no plugin: export objects with name, kind (${PLUGIN_KINDS.join(', ')}), apiVersion and the kind's hook.`,
      );
    }
    plugins.push(...new Set(found));
  }
  return plugins;
}

function moduleUrl(specifier: string): string {
  const path = resolve(specifier);
  if (existsSync(path)) return pathToFileURL(path).href;
  if (specifier.startsWith('.') || specifier.startsWith('/'))
    throw new LoraFuseError('FILE_NOT_FOUND', `--plugin ${specifier}: ${path} does not exist.`, { details: { path } });
  try {
    return pathToFileURL(createRequire(join(process.cwd(), 'package.json')).resolve(specifier)).href;
  } catch (cause) {
    throw new LoraFuseError('FILE_NOT_FOUND', `--plugin ${specifier}: no such file, and no package of that name is installed in ${process.cwd()}.`, { cause });
  }
}

function isPluginLike(value: unknown): value is Plugin {
  return typeof value === 'object' && value !== null && (PLUGIN_KINDS as readonly unknown[]).includes((value as { kind?: unknown }).kind);
}

/**
 * A runtime with `plugins` and the backend packages ({@link BACKEND_PACKAGES}):
 * each one's factory when it can be imported, else a stand-in that says what
 * to install ({@link notInstalledBackend}).
 */
export async function cliRuntime(plugins: PluginRegistry, load: ModuleImporter = importModule): Promise<Runtime> {
  const backends: BackendFactory[] = [];
  for (const backend of BACKEND_PACKAGES) {
    try {
      backends.push((await importBackendPackage(backend, load))());
    } catch (error) {
      if (!isLoraFuseError(error, 'BACKEND_NOT_INSTALLED')) throw error;
      backends.push(notInstalledBackend(backend, error));
    }
  }
  return new Runtime({ backends, plugins });
}

/** Parses `--seed` (default 0). */
export function parseSeed(value: unknown): number {
  if (value === undefined) return 0;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new LoraFuseError('CLI_USAGE', `--seed must be an integer in [0, 2^32), got ${String(value)}.`);
  return seed;
}
