/**
 * `@lorafuse/plugins`: the built-in plugins. They register through the same
 * public `Plugin` contract of `@lorafuse/core` that third-party plugins use.
 * @module \@lorafuse/plugins
 */
export * from './mergers/index.js';
export * from './pruning/index.js';
export { registerBuiltinPlugins, type BuiltinPluginOptions } from './builtins.js';
