import { createAdapterConfig, loraScaling, type AdapterConfig, type LoraAdapter, type LoraModule } from '../adapter/index.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import type { Matrix } from '../linalg/index.js';
import { Tensor } from '../tensor/index.js';
import type { ModuleGroup } from './inputs.js';
import type { MergeContext } from './types.js';

/** One merged module: its factors and the scaling PEFT will apply to `b·a`. */
export interface MergedModule {
  /** The module path. */
  readonly name: string;
  /** `[rank, in]`. */
  readonly a: Matrix;
  /** `[out, rank]`. */
  readonly b: Matrix;
  /** The scaling of the merged module; alpha is chosen so that PEFT derives it from the rank. */
  readonly scaling: number;
}

/**
 * The target modules of a merge of adapters with `configs`, as PEFT forms
 * them: the union of the lists, or the alternation `(a)|(b)` of regular
 * expressions. Throws `MERGE_INCOMPATIBLE` when lists and expressions mix.
 */
export function mergedTargets(configs: readonly AdapterConfig[]): readonly string[] | string {
  const lists = configs.filter((c) => typeof c.targetModules !== 'string');
  if (lists.length === configs.length) return [...new Set(lists.flatMap((c) => c.targetModules as readonly string[]))].sort();
  if (lists.length === 0) return configs.map((c) => `(${c.targetModules as string})`).join('|');
  throw new LoraFuseError(
    'MERGE_INCOMPATIBLE',
    'Some adapters give target_modules as a list and others as a regular expression; PEFT cannot merge that mix. Re-save them with lists.',
    {
      details: {},
    },
  );
}

/**
 * The PEFT adapter holding `modules`: a config like PEFT's merged one (the
 * first adapter's, with `r` the most common merged rank, `lora_alpha = r`,
 * rsLoRA off, target modules combined, per-module rank/alpha overrides
 * added by `saveAdapter`), factors stored as f32.
 */
export function mergedAdapter(inputs: readonly LoraAdapter[], modules: readonly MergedModule[]): LoraAdapter {
  const counts = new Map<number, number>();
  for (const m of modules) counts.set(m.a.rows, (counts.get(m.a.rows) ?? 0) + 1);
  const r = [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]?.[0] ?? 1;
  const first = inputs[0].config;
  const config = createAdapterConfig({
    r,
    loraAlpha: r,
    targetModules: mergedTargets(inputs.map((a) => a.config)),
    excludeModules: first.excludeModules,
    layersToTransform: first.layersToTransform,
    layersPattern: first.layersPattern,
    loraDropout: first.loraDropout,
    taskType: first.taskType,
    baseModelNameOrPath: first.baseModelNameOrPath,
  });
  const out: LoraModule[] = modules.map((m) => {
    const rank = m.a.rows;
    // PEFT derives scaling as alpha / rank (rsLoRA is off in the merged config).
    const alpha = m.scaling * rank;
    return Object.freeze({
      name: m.name,
      a: new Tensor('f32', [rank, m.a.cols], Float32Array.from(m.a.data)),
      b: new Tensor('f32', [m.b.rows, rank], Float32Array.from(m.b.data)),
      rank,
      alpha,
      scaling: loraScaling(alpha, rank, false),
    });
  });
  return Object.freeze({ config, modules: Object.freeze(out) });
}

/**
 * Runs `mergeOne` on each module group in turn, checking `context.signal`
 * before each and reporting progress after each; returns the merged
 * adapter built by {@link mergedAdapter}.
 */
export async function mergeEachModule(
  adapters: readonly LoraAdapter[],
  groups: readonly ModuleGroup[],
  context: MergeContext | undefined,
  mergeOne: (group: ModuleGroup) => MergedModule,
): Promise<LoraAdapter> {
  const merged: MergedModule[] = [];
  for (const group of groups) {
    throwIfAborted(context?.signal);
    merged.push(mergeOne(group));
    context?.onProgress?.({ module: group.name, done: merged.length, total: groups.length });
    // Yield a macrotask between modules so timers and abort handlers run during a long merge.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return mergedAdapter(adapters, merged);
}
