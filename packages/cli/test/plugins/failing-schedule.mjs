// A pruning schedule whose run fails, with a typed error, for the target
// ratio 0.7 only (the constant schedule otherwise): the CLI tests use it to
// make one ratio of a --prune-ratio grid fail.
import { LoraFuseError, PLUGIN_API_VERSION } from '@lorafuse/core';

/** @type {import('@lorafuse/core').SchedulePlugin} */
export const failsAtSeventy = Object.freeze({
  name: 'test/fails-at-0.7',
  kind: 'schedule',
  apiVersion: PLUGIN_API_VERSION,
  description: 'the full ratio every step; fails for ratio 0.7',
  ratio(_step, target) {
    if (target === 0.7) throw new LoraFuseError('PRUNE_INPUT_MISSING', 'test/fails-at-0.7 refuses ratio 0.7');
    return target;
  },
});
