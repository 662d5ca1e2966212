import { LoraFuseError, PUBLISHED_ADAPT_SETTINGS, type LoraAdapter, type PluginRegistry, type SchedulePlugin } from '@lorafuse/core';
import { cubicSchedule, everyNStepsSchedule, linearSchedule } from '@lorafuse/plugins';
import type { ParsedCommand } from '../args.js';
import { DATA_OPTIONS, numberOption } from './model-data.js';

const p = PUBLISHED_ADAPT_SETTINGS;

/** The flags of `lorafuse adapt` (besides the global ones). */
export const ADAPT_FLAGS = {
  model: { type: 'string' },
  target: { type: 'string' },
  related: { type: 'string', multiple: true },
  train: { type: 'string' },
  val: { type: 'string' },
  out: { type: 'string' },
  'prune-ratio': { type: 'string' },
  metric: { type: 'string' },
  schedule: { type: 'string' },
  'ramp-steps': { type: 'string' },
  every: { type: 'string' },
  'norm-source': { type: 'string' },
  refresh: { type: 'string' },
  masks: { type: 'string' },
  'pruned-value': { type: 'string' },
  'lora-dropout': { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  'epoch-decay': { type: 'string' },
  accumulation: { type: 'string' },
  'merged-out': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'boolean' },
  ...DATA_OPTIONS,
} as const;

/**
 * The options an adapt run trains and prunes with, after defaults: what
 * `lorafuse.json` records (plain JSON, the same for the same command line
 * and inputs) and what a checkpoint must have been made with to be resumed.
 */
export type AdaptRunOptions = {
  // A type, not an interface: provenance takes it as a plain JSON record.
  /** The pruning ratio (with a grid: the first; `lorafuse.json` then holds the chosen one). */
  readonly ratio: number;
  readonly metric: string;
  readonly grouping: string;
  readonly schedule: string;
  readonly normSource: 'dataset' | 'running';
  readonly refresh: 'step' | 'epoch';
  readonly masks: 'regrow' | 'fixed';
  readonly prunedValue: 'zero' | 'initial';
  /** `--lora-dropout`, or each adapter's `lora_dropout` in input order (target first). */
  readonly loraDropout: number | readonly number[];
  readonly epochs: number;
  readonly lr: number;
  readonly epochDecay: number;
  readonly accumulation: number;
  readonly batchSize: number;
  readonly weightDecay: number;
};

/** A `--flag` whose value must be one of `allowed` (the first is the default). */
function choice<T extends string>(parsed: ParsedCommand, name: string, allowed: readonly [T, ...T[]]): T {
  const raw = parsed.values[name];
  if (raw === undefined) return allowed[0];
  if (!allowed.includes(raw as T)) throw new LoraFuseError('CLI_USAGE', `adapt: --${name} must be ${allowed.join(' or ')}, got ${String(raw)}.`);
  return raw as T;
}

/** A plugin name flag, checked against the registry (default `fallback`). */
function pluginName(parsed: ParsedCommand, plugins: PluginRegistry, flag: string, kind: 'importance' | 'schedule', fallback: string): string {
  const name = typeof parsed.values[flag] === 'string' ? (parsed.values[flag] as string) : fallback;
  if (!plugins.names(kind).includes(name)) {
    throw new LoraFuseError('CLI_USAGE', `adapt: --${flag} must be one of ${plugins.names(kind).join(', ')}, got ${name}.`);
  }
  return name;
}

/** {@link AdaptRunOptions} as the flags give them: `loraDropout` undefined when each adapter keeps its own. */
export type AdaptFlagOptions = Omit<AdaptRunOptions, 'loraDropout'> & { readonly loraDropout: number | undefined };

/**
 * Reads the training and pruning flags of `lorafuse adapt`. Throws
 * `CLI_USAGE` for a value out of range or a name that is not registered.
 */
export function parseAdaptOptions(parsed: ParsedCommand, plugins: PluginRegistry): AdaptFlagOptions {
  const int = (name: string, fallback: number) => numberOption('adapt', parsed, name, fallback, { min: 1, integer: true });
  const dropout = numberOption('adapt', parsed, 'lora-dropout', 0, { max: 1 });
  if (dropout === 1) throw new LoraFuseError('CLI_USAGE', 'adapt: --lora-dropout must be a probability in [0, 1), got 1.');
  const loraDropout = parsed.values['lora-dropout'] === undefined ? undefined : dropout;
  return {
    ratio: ratioGrid(parsed)[0],
    metric: pluginName(parsed, plugins, 'metric', 'importance', p.metric),
    grouping: p.grouping,
    schedule: pluginName(parsed, plugins, 'schedule', 'schedule', 'constant'),
    normSource: choice(parsed, 'norm-source', ['dataset', 'running']),
    refresh: choice(parsed, 'refresh', [p.refresh, 'epoch']),
    masks: choice(parsed, 'masks', ['regrow', 'fixed']),
    prunedValue: choice(parsed, 'pruned-value', ['zero', 'initial']),
    loraDropout,
    epochs: int('epochs', p.epochs),
    lr: numberOption('adapt', parsed, 'lr', p.lr, { min: Number.MIN_VALUE }),
    epochDecay: numberOption('adapt', parsed, 'epoch-decay', p.epochDecay),
    accumulation: int('accumulation', p.accumulation),
    batchSize: int('batch-size', p.batchSize),
    weightDecay: p.weightDecay,
  };
}

/** The options after defaults: `loraDropout` becomes each adapter's `lora_dropout` when the flag left it out. */
export function withAdapterDropout(options: AdaptFlagOptions, hosts: readonly LoraAdapter[]): AdaptRunOptions {
  return { ...options, loraDropout: options.loraDropout ?? hosts.map((h) => h.config.loraDropout) };
}

/** `--prune-ratio`: one ratio, or a comma-separated grid of up to 8, each in [0, 1] (default 0.5). */
export function ratioGrid(parsed: ParsedCommand): number[] {
  const raw = parsed.values['prune-ratio'];
  if (raw === undefined) return [0.5];
  const ratios = String(raw)
    .split(',')
    .map((w) => (w.trim() === '' ? NaN : Number(w)));
  if (ratios.length > 8 || !ratios.every((r) => r >= 0 && r <= 1)) {
    throw new LoraFuseError('CLI_USAGE', `adapt: --prune-ratio must be a number in [0, 1], or up to 8 of them separated by commas; got ${String(raw)}.`);
  }
  return ratios;
}

/**
 * The schedule plugin for `--schedule`: the ramps and every-n-steps built
 * with this run's `--ramp-steps`/`--every` (a ramp defaults to the run's
 * optimizer steps), any other name resolved in the registry.
 */
export function scheduleFor(parsed: ParsedCommand, options: AdaptFlagOptions, examples: number): SchedulePlugin | string {
  const name = options.schedule;
  const runSteps = options.epochs * Math.ceil(Math.ceil(examples / options.batchSize) / options.accumulation);
  const steps = numberOption('adapt', parsed, 'ramp-steps', runSteps, { min: 0, integer: true });
  if (name === 'linear') return linearSchedule({ steps });
  if (name === 'cubic') return cubicSchedule({ steps });
  if (name === 'every-n-steps') return everyNStepsSchedule({ every: numberOption('adapt', parsed, 'every', 10, { min: 1, integer: true }) });
  return name;
}
