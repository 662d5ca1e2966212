// The built-in pruning plugins: importance metrics, groupings and schedules.
import type { GroupingPlugin, ImportancePlugin, PluginRegistry, SchedulePlugin } from '@lorafuse/core';
import { globalGrouping, moduleGrouping, nmGrouping, rowGrouping } from './groupings.js';
import { loraMetric } from './lora.js';
import { magnitudeMetric } from './magnitude.js';
import { randomMetric, type RandomMetricOptions } from './random.js';
import { constantSchedule, cubicSchedule, everyNStepsSchedule, linearSchedule, onceSchedule, type EveryNStepsOptions, type RampOptions } from './schedules.js';
import { taylorMetric, type TaylorOptions } from './taylor.js';
import { wandaMetric } from './wanda.js';

export { globalGrouping, moduleGrouping, nmGrouping, rowGrouping } from './groupings.js';
export { loraMetric } from './lora.js';
export { magnitudeMetric } from './magnitude.js';
export { randomMetric, type RandomMetricOptions } from './random.js';
export { constantSchedule, cubicSchedule, everyNStepsSchedule, linearSchedule, onceSchedule, type EveryNStepsOptions, type RampOptions } from './schedules.js';
export { taylorMetric, type TaylorOptions } from './taylor.js';
export { wandaMetric } from './wanda.js';

/** Options of the parameterised built-ins in {@link pruningPlugins}. */
export interface PruningPluginOptions {
  /** `random`'s options. */
  readonly random?: RandomMetricOptions;
  /** `taylor`'s options. */
  readonly taylor?: TaylorOptions;
  /** `linear` and `cubic`'s options. */
  readonly ramp?: RampOptions;
  /** `every-n-steps`' options. */
  readonly everyNSteps?: EveryNStepsOptions;
  /** `once`'s step. */
  readonly onceAt?: number;
}

/**
 * Every built-in pruning plugin: metrics `magnitude`, `wanda`, `lora`,
 * `taylor`, `random`; groupings `module`, `row`, `global`, `2:4`, `4:8`;
 * schedules `constant`, `linear`, `cubic`, `every-n-steps`, `once`.
 */
export function pruningPlugins(options: PruningPluginOptions = {}): Array<ImportancePlugin | GroupingPlugin | SchedulePlugin> {
  return [
    magnitudeMetric,
    wandaMetric,
    loraMetric,
    taylorMetric(options.taylor),
    randomMetric(options.random),
    moduleGrouping,
    rowGrouping,
    globalGrouping,
    nmGrouping(2, 4),
    nmGrouping(4, 8),
    constantSchedule,
    linearSchedule(options.ramp),
    cubicSchedule(options.ramp),
    everyNStepsSchedule(options.everyNSteps),
    onceSchedule({ at: options.onceAt }),
  ];
}

/** Registers {@link pruningPlugins} on `registry` (e.g. `runtime.plugins`); returns the registry. */
export function registerPruningPlugins(registry: PluginRegistry, options: PruningPluginOptions = {}): PluginRegistry {
  for (const plugin of pruningPlugins(options)) registry.register(plugin);
  return registry;
}
