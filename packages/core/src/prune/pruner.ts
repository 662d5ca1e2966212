import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { oneOf } from '../errors/one-of.js';
import type { PluginRegistry } from '../plugin/registry.js';
import { shapeSize, Tensor } from '../tensor/index.js';
import { checkGroups } from './check-groups.js';
import { checkModules, checkRatio } from './check-modules.js';
import { resolvePlugin } from './resolve.js';
import { selectGroup, type MemberMask } from './select.js';
import { ImportanceStateStore } from './state.js';
import type { AdamMoments, Factor, FactorScores, GroupableTensor, GroupingPlugin, ImportancePlugin, PrunableModule, SchedulePlugin } from './types.js';

/** Options of a {@link Pruner}. */
export interface PrunerOptions {
  /** The backend every module's tensors live on. */
  readonly backend: Backend;
  /** The importance metric, or its registered name (`lora`, `wanda`, `magnitude`, `taylor`, `random` in `@lorafuse/plugins`). */
  readonly metric: ImportancePlugin | string;
  /** How entries compete, or its name; default `module` (each A and each B on its own, the method's default). */
  readonly grouping?: GroupingPlugin | string;
  /** When and how much, or its name; default `constant`. */
  readonly schedule?: SchedulePlugin | string;
  /** Resolves the names above (e.g. `runtime.plugins`). */
  readonly plugins?: PluginRegistry;
  /** Target pruning ratio in `[0, 1]`; defaults to the grouping's implied ratio (N:M), required otherwise. */
  readonly ratio?: number;
  /** `zero` (default, the method's) sets pruned entries to 0; `reset` to their initial values (`initA`/`initB`). */
  readonly mode?: 'zero' | 'reset';
  /**
   * `regrow` (default, the method's): every pruning step re-scores all
   * entries, so pruned ones may come back. `persistent`: once pruned, an
   * entry stays pruned (its score counts as lowest) and the masks are
   * re-applied on steps the schedule skips.
   */
  readonly masks?: 'regrow' | 'persistent';
  /** Also zero Adam's moments of pruned entries (`momentsA`/`momentsB`); default false (kept). */
  readonly resetMoments?: boolean;
}

/** Options of one {@link Pruner.prune} call. */
export interface PruneCallOptions {
  /** The step the schedule sees (0-based); default: one more than the previous call's, starting at 0. */
  readonly step?: number;
  /** Cancels between modules; tensors already masked stay masked. */
  readonly signal?: AbortSignal;
  /** Called after each module is scored. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The outcome for one factor of one module. */
export interface TensorSparsity {
  readonly module: string;
  readonly factor: Factor;
  /** Entries of the factor. */
  readonly size: number;
  /** Entries masked by this call (0 for a tensor no group covers). */
  readonly pruned: number;
  /** `pruned / size` (0 for an empty tensor). */
  readonly sparsity: number;
}

/**
 * What a {@link Pruner} keeps between calls, on the host (see
 * {@link Pruner.exportState}): its metric's state and its persistent masks.
 */
export interface PrunerState {
  /** The metric's tensors, by module and key. */
  readonly metric: ReadonlyMap<string, Tensor>;
  /** Persistent masks (u8, 1 = pruned), by `<module>/<factor>`. */
  readonly masks: ReadonlyMap<string, Tensor>;
  /** The step the next call defaults to. */
  readonly nextStep: number;
}

/** What one {@link Pruner.prune} call did. */
export interface PruneReport {
  readonly step: number;
  /** The ratio the schedule gave, or `null` when it skipped this step. */
  readonly ratio: number | null;
  /** One entry per factor, A then B of each module, in the order given. */
  readonly tensors: readonly TensorSparsity[];
}

interface Target {
  readonly module: PrunableModule;
  readonly factor: Factor;
  readonly key: string;
  readonly param: DeviceTensor;
  readonly init?: DeviceTensor;
  readonly moments?: AdamMoments;
}

interface StoredMask {
  readonly mask: DeviceTensor;
  readonly pruned: number;
}

/**
 * Prunes LoRA factors in place on a backend: importance metric + grouping +
 * ratio + schedule → masks. Every number is computed by the backend's
 * kernels (scores, O(n) selection with ties broken by flat index and NaN
 * lowest, masking), so one pruner runs on every backend.
 *
 * A pruner holds device state between calls (metric state such as
 * `taylor`'s smoothed scores, persistent masks); {@link Pruner.dispose}
 * frees it.
 */
export class Pruner {
  readonly backend: Backend;
  readonly metric: ImportancePlugin;
  readonly grouping: GroupingPlugin;
  readonly schedule: SchedulePlugin;
  /** The target ratio. */
  readonly ratio: number;
  readonly mode: 'zero' | 'reset';
  readonly masks: 'regrow' | 'persistent';
  readonly resetMoments: boolean;
  readonly #state: ImportanceStateStore;
  readonly #stored = new Map<string, StoredMask>();
  #nan: DeviceTensor | undefined;
  #nextStep = 0;

  /**
   * Resolves and checks the options: `PLUGIN_NOT_FOUND` / `PLUGIN_INVALID`
   * for the plugins, `INVALID_OPTION` for a ratio outside `[0, 1]`, a ratio
   * that contradicts the grouping's, or an unknown mode.
   */
  constructor(options: PrunerOptions) {
    const { backend, plugins } = options;
    this.backend = backend;
    this.metric = resolvePlugin('importance', options.metric, plugins, 'metric');
    this.grouping = resolvePlugin('grouping', options.grouping ?? 'module', plugins, 'grouping');
    this.schedule = resolvePlugin('schedule', options.schedule ?? 'constant', plugins, 'schedule');
    this.ratio = targetRatio(options.ratio, this.grouping);
    this.mode = oneOf('mode', options.mode ?? 'zero', ['zero', 'reset'] as const);
    this.masks = oneOf('masks', options.masks ?? 'regrow', ['regrow', 'persistent'] as const);
    this.resetMoments = options.resetMoments ?? false;
    this.#state = new ImportanceStateStore(backend);
  }

  /**
   * Prunes `modules` in place for one step: asks the schedule for the
   * ratio, scores every module with the metric, selects per group and
   * masks the factors (and, with `resetMoments`, their Adam moments).
   * Inputs are checked before anything changes: `SHAPE_MISMATCH`,
   * `DTYPE_MISMATCH`, `INVALID_OPTION` (duplicate names, a bad step),
   * `PRUNE_INPUT_MISSING` (initial values, moments or what the metric
   * needs), `ABORTED`.
   */
  async prune(modules: readonly PrunableModule[], options: PruneCallOptions = {}): Promise<PruneReport> {
    const { signal, onProgress } = options;
    const step = options.step ?? this.#nextStep;
    if (!Number.isSafeInteger(step) || step < 0) throw new LoraFuseError('INVALID_OPTION', `step must be an integer ≥ 0, got ${step}.`, { details: { step } });
    checkModules(modules, { reset: this.mode === 'reset', moments: this.resetMoments });
    throwIfAborted(signal);
    this.#nextStep = step + 1;
    const targets = modules.flatMap((module) => [target(module, 'A'), target(module, 'B')]);
    const ratio = this.schedule.ratio(step, this.ratio);
    if (ratio !== null) checkRatio(`schedule "${this.schedule.name}" returned a ratio`, ratio);

    const masks = ratio === null ? this.#storedMasks(targets) : await this.#select(targets, ratio, step, { signal, onProgress });
    try {
      for (const [i, { mask }] of masks) this.#apply(targets[i], mask);
    } finally {
      for (const [i, m] of masks) this.#keepOrFree(targets[i].key, m, ratio !== null);
    }
    return {
      step,
      ratio,
      tensors: targets.map((t, i) => {
        const size = t.param.size;
        const pruned = masks.get(i)?.pruned ?? 0;
        return { module: t.module.name, factor: t.factor, size, pruned, sparsity: size === 0 ? 0 : pruned / size };
      }),
    };
  }

  /** The persistent mask of a module's factor (u8, 1 = pruned), if `masks: 'persistent'` has one. Owned by the pruner. */
  mask(module: string, factor: Factor): DeviceTensor | undefined {
    return this.#stored.get(`${module}/${factor}`)?.mask;
  }

  /** Copies the metric state and the persistent masks to the host (for a checkpoint). */
  async exportState(): Promise<PrunerState> {
    const masks = new Map<string, Tensor>();
    for (const [key, { mask }] of this.#stored) masks.set(key, await this.backend.read(mask));
    return { metric: await this.#state.export(), masks, nextStep: this.#nextStep };
  }

  /** Replaces the metric state and the persistent masks with `state` (from {@link Pruner.exportState}). */
  importState(state: PrunerState): void {
    this.dispose();
    this.#state.import(state.metric);
    for (const [key, mask] of state.masks) {
      let pruned = 0;
      for (const bit of mask.data as Uint8Array) pruned += bit === 0 ? 0 : 1;
      this.#stored.set(key, { mask: this.backend.upload(mask), pruned });
    }
    this.#nextStep = state.nextStep;
  }

  /** Frees the metric state and persistent masks; the pruner starts afresh afterwards. */
  dispose(): void {
    this.#state.clear();
    const live = !this.backend.disposed;
    for (const { mask } of this.#stored.values()) if (live) this.backend.free(mask);
    this.#stored.clear();
    if (this.#nan && live) this.backend.free(this.#nan);
    this.#nan = undefined;
    this.#nextStep = 0;
  }

  #storedMasks(targets: readonly Target[]): Map<number, StoredMask> {
    const found = new Map<number, StoredMask>();
    targets.forEach((t, i) => {
      const stored = this.#stored.get(t.key);
      if (stored) found.set(i, stored);
    });
    return found;
  }

  async #select(
    targets: readonly Target[],
    ratio: number,
    step: number,
    options: Pick<PruneCallOptions, 'signal' | 'onProgress'>,
  ): Promise<Map<number, MemberMask>> {
    const groups = this.grouping.groups(targets.map((t): GroupableTensor => ({ module: t.module.name, factor: t.factor, shape: t.param.shape })));
    checkGroups(
      this.grouping.name,
      groups,
      targets.map((t) => t.param.size),
    );
    const scores = await this.#score(targets, step, options);
    const masks = new Map<number, MemberMask>();
    try {
      if (this.masks === 'persistent') this.#sinkStored(targets, scores);
      for (const group of groups) {
        throwIfAborted(options.signal);
        if (group.members.every((m) => targets[m].param.size === 0)) continue;
        for (const m of await selectGroup(this.backend, group, scores, ratio)) masks.set(m.member, m);
      }
    } catch (error) {
      for (const { mask } of masks.values()) this.backend.free(mask);
      throw error;
    } finally {
      for (const s of scores) this.backend.free(s);
    }
    return masks;
  }

  async #score(targets: readonly Target[], step: number, { signal, onProgress }: Pick<PruneCallOptions, 'signal' | 'onProgress'>): Promise<DeviceTensor[]> {
    const scores: DeviceTensor[] = [];
    const total = targets.length / 2;
    try {
      for (let i = 0; i < total; i++) {
        throwIfAborted(signal);
        const module = targets[2 * i].module;
        const result: FactorScores = await this.metric.score({ backend: this.backend, module, step, state: this.#state.forModule(module.name), signal });
        for (const s of [result?.a, result?.b]) if (s) scores.push(s);
        checkScores(this.metric.name, module, result);
        onProgress?.(i + 1, total);
      }
    } catch (error) {
      for (const s of scores) this.backend.free(s);
      throw error;
    }
    return scores;
  }

  /** Persistent masks: what was pruned before scores NaN, which selection ranks lowest of all. */
  #sinkStored(targets: readonly Target[], scores: readonly DeviceTensor[]): void {
    const { kernels } = this.backend;
    targets.forEach((t, i) => {
      const stored = this.#stored.get(t.key);
      if (!stored) return;
      this.#nan ??= this.backend.upload(Tensor.f32([], [NaN]));
      const nanFill = kernels.mul(scores[i], this.#nan);
      try {
        kernels.maskApply(scores[i], stored.mask, nanFill);
      } finally {
        this.backend.free(nanFill);
      }
    });
  }

  #apply(t: Target, mask: DeviceTensor): void {
    const { kernels } = this.backend;
    kernels.maskApply(t.param, mask, this.mode === 'reset' ? t.init : undefined);
    if (this.resetMoments && t.moments) {
      kernels.maskApply(t.moments.m, mask);
      kernels.maskApply(t.moments.v, mask);
    }
  }

  /** Keeps a fresh mask as the persistent one (freeing the old), or frees it. */
  #keepOrFree(key: string, m: StoredMask, fresh: boolean): void {
    if (!fresh) return;
    if (this.masks !== 'persistent') {
      this.backend.free(m.mask);
      return;
    }
    const old = this.#stored.get(key);
    if (old) this.backend.free(old.mask);
    this.#stored.set(key, { mask: m.mask, pruned: m.pruned });
  }
}

function target(module: PrunableModule, factor: Factor): Target {
  const a = factor === 'A';
  return {
    module,
    factor,
    key: `${module.name}/${factor}`,
    param: a ? module.a : module.b,
    init: a ? module.initA : module.initB,
    moments: a ? module.momentsA : module.momentsB,
  };
}

function targetRatio(ratio: number | undefined, grouping: GroupingPlugin): number {
  const implied = grouping.impliedRatio;
  if (ratio === undefined) {
    if (implied === undefined)
      throw new LoraFuseError('INVALID_OPTION', 'ratio is required: the share of entries to prune, in [0, 1] (e.g. 0.5).', { details: { option: 'ratio' } });
    return implied;
  }
  checkRatio('ratio', ratio);
  if (implied !== undefined && Math.abs(ratio - implied) > 1e-12) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      `grouping "${grouping.name}" prunes exactly ${implied} of every group; pass ratio ${implied} or leave it out (got ${ratio}).`,
      {
        details: { option: 'ratio', ratio, implied },
      },
    );
  }
  return ratio;
}

function checkScores(metric: string, module: PrunableModule, scores: FactorScores): void {
  for (const [factor, s, p] of [
    ['A', scores?.a, module.a],
    ['B', scores?.b, module.b],
  ] as const) {
    if (s?.dtype !== 'f32' || shapeSize(s.shape) !== p.size || s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i])) {
      throw new LoraFuseError(
        'SHAPE_MISMATCH',
        `Metric "${metric}" returned ${s ? `a ${s.dtype} [${s.shape.join(', ')}] tensor` : 'nothing'} for ${factor} of ${module.name}; scores must be f32 [${p.shape.join(', ')}].`,
        {
          details: { metric, module: module.name, factor },
        },
      );
    }
  }
}
