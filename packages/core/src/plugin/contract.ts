/** The plugin API version this build of `@lorafuse/core` implements. */
export const PLUGIN_API_VERSION = 1;

/** The extension points plugins can fill. */
export type PluginKind = 'importance' | 'schedule' | 'grouping' | 'merger';

/** The kinds, in a stable order. */
export const PLUGIN_KINDS: readonly PluginKind[] = Object.freeze(['importance', 'schedule', 'grouping', 'merger']);

/**
 * What every plugin is: a plain object with a name, the kind of extension it
 * provides and the API version it was written against. Each kind adds its
 * own hooks; the built-in plugins use exactly this contract.
 */
export interface Plugin<K extends PluginKind = PluginKind> {
  /** Unique within its kind: lowercase letters, digits, `-`, `_`, `.`, `:` or `/` (e.g. `wanda`, `acme/fisher`). */
  readonly name: string;
  /** The extension point. */
  readonly kind: K;
  /** The {@link PLUGIN_API_VERSION} the plugin targets. */
  readonly apiVersion: number;
  /** One line for listings and `--help`. */
  readonly description?: string;
}
