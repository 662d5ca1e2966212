export { PLUGIN_API_VERSION, PLUGIN_KINDS, type Plugin, type PluginKind } from './contract.js';
export { PluginRegistry } from './registry.js';
export { BUILTIN_PLUGIN_NAMES, BUILTIN_PLUGINS_CALL } from './builtins.js';
