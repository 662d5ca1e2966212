import { LoraFuseError, PluginRegistry, Runtime, type BackendFactory } from '@lorafuse/core';
import { registerMergerPlugins, registerPruningPlugins } from '@lorafuse/plugins';

/** The plugin registry the CLI resolves names in: every built-in, `random` seeded by `--seed`. */
export function cliPlugins(seed = 0): PluginRegistry {
  return registerMergerPlugins(registerPruningPlugins(new PluginRegistry(), { random: { seed } }));
}

/**
 * Backend packages the CLI uses when they are installed next to it; the
 * specifiers are data so that bundlers leave them as runtime imports and an
 * install without them still works on the reference backend.
 */
const OPTIONAL_BACKENDS: readonly (readonly [string, string])[] = [
  ['@lorafuse/backend-webgpu', 'webgpuBackend'],
  ['@lorafuse/backend-wasm', 'wasmBackend'],
];

/** A runtime with `plugins` and every backend package that can be imported here. */
export async function cliRuntime(plugins: PluginRegistry): Promise<Runtime> {
  const backends: BackendFactory[] = [];
  for (const [specifier, factory] of OPTIONAL_BACKENDS) {
    try {
      const module = (await import(/* @vite-ignore */ specifier)) as Record<string, () => BackendFactory>;
      backends.push(module[factory]());
    } catch {
      // Not installed: the reference backend remains.
    }
  }
  return new Runtime({ backends, plugins });
}

/** Parses `--seed` (default 0). */
export function parseSeed(value: unknown): number {
  if (value === undefined) return 0;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new LoraFuseError('CLI_USAGE', `--seed must be an integer in [0, 2^32), got ${String(value)}.`);
  return seed;
}
