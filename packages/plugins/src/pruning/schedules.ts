import { PLUGIN_API_VERSION, type SchedulePlugin } from '@lorafuse/core';
import { integerOption } from './options.js';

/** Options of the ramps {@link linearSchedule} and {@link cubicSchedule}. */
export interface RampOptions {
  /** Steps from 0 to the target ratio; the target holds from step `start + steps` on. Default 100. */
  readonly steps?: number;
  /** The step at which the ramp starts (ratio 0 before and at it); default 0. */
  readonly start?: number;
}

function progress(name: string, { steps = 100, start = 0 }: RampOptions): (step: number) => number {
  integerOption(name, 'steps', steps, 0);
  integerOption(name, 'start', start, 0);
  return (step) => (steps === 0 ? (step >= start ? 1 : 0) : Math.min(1, Math.max(0, (step - start) / steps)));
}

/** `constant`: the target ratio at every step. */
export const constantSchedule: SchedulePlugin = Object.freeze<SchedulePlugin>({
  name: 'constant',
  kind: 'schedule',
  apiVersion: PLUGIN_API_VERSION,
  description: 'the target ratio at every step',
  ratio: (_step, target) => target,
});

function ramp(name: 'linear' | 'cubic', description: string, shape: (p: number) => number, options: RampOptions): SchedulePlugin {
  const p = progress(name, options);
  return Object.freeze({
    name,
    kind: 'schedule',
    apiVersion: PLUGIN_API_VERSION,
    description,
    ratio: (step, target) => target * shape(p(step)),
  } satisfies SchedulePlugin);
}

/** `linear`: `target · p` with `p = clamp((step − start) / steps, 0, 1)`. */
export function linearSchedule(options: RampOptions = {}): SchedulePlugin {
  return ramp('linear', 'linear ramp from 0 to the target ratio', (p) => p, options);
}

/**
 * `cubic`: the gradual schedule of Zhu & Gupta (2017) from 0,
 * `target · (1 − (1 − p)³)` with `p` as for {@link linearSchedule}: fast
 * at first, slowing as the target nears.
 */
export function cubicSchedule(options: RampOptions = {}): SchedulePlugin {
  return ramp('cubic', 'cubic ramp (Zhu & Gupta 2017) from 0 to the target ratio', (p) => 1 - (1 - p) ** 3, options);
}

/** Options of {@link everyNStepsSchedule}. */
export interface EveryNStepsOptions {
  /** Prune on every `every`-th step; default 10. */
  readonly every?: number;
  /** The first step that prunes; default 0. */
  readonly offset?: number;
}

/** `every-n-steps`: the target ratio on steps `offset, offset + every, …`; other steps skip. */
export function everyNStepsSchedule({ every = 10, offset = 0 }: EveryNStepsOptions = {}): SchedulePlugin {
  integerOption('every-n-steps', 'every', every, 1);
  integerOption('every-n-steps', 'offset', offset, 0);
  return Object.freeze({
    name: 'every-n-steps',
    kind: 'schedule',
    apiVersion: PLUGIN_API_VERSION,
    description: `the target ratio every ${every} steps`,
    ratio: (step, target) => (step >= offset && (step - offset) % every === 0 ? target : null),
  } satisfies SchedulePlugin);
}

/** `once`: the target ratio at step `at` (default 0) only; every other step skips. */
export function onceSchedule({ at = 0 }: { readonly at?: number } = {}): SchedulePlugin {
  integerOption('once', 'at', at, 0);
  return Object.freeze({
    name: 'once',
    kind: 'schedule',
    apiVersion: PLUGIN_API_VERSION,
    description: `the target ratio at step ${at} only`,
    ratio: (step, target) => (step === at ? target : null),
  } satisfies SchedulePlugin);
}
