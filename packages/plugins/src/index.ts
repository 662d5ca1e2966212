/**
 * `@lorafuse/plugins`: the built-in plugins. They register through the same
 * public `Plugin` contract of `@lorafuse/core` third-party plugins use. The first plugins
 * (mergers, importance metrics, groupings, schedules) land with the method
 * issue; until then this package is private and exports only the contract
 * version it is written against.
 * @module \@lorafuse/plugins
 */
export { PLUGIN_API_VERSION } from '@lorafuse/core';
