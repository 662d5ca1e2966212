import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Example } from '../data/encode.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { Pruner, PruneReport, TensorSparsity } from '../prune/pruner.js';
import type { ImportanceInput, PrunableModule } from '../prune/types.js';
import { collectActivationSquares } from '../stats/input-norms.js';
import type { Tensor } from '../tensor/index.js';
import { adapterModuleKey, type HookState, type StepContext, type StepStatistics, type TrainHook } from '../train/hooks.js';
import { freeStatistics } from '../train/step-statistics.js';

/**
 * Where the activation norms that `lora` and `wanda` read come from.
 * `dataset` (the method's): forward passes over the calibration examples
 * (default the training set) with the current adapters, after every step
 * or at each epoch's first step — as many extra forward passes as there
 * are examples each time. `running`: the sums of squares the training
 * forward passes gather anyway, over the last epoch's worth of steps (the
 * steps so far in the first epoch): no extra passes, one product per
 * adapted projection, and norms that lag the adapters by up to an epoch.
 */
export type NormSource = 'dataset' | 'running';

/** Sparsity of one factor after a pruning step; `adapter` indexes the adapters of the run. */
export interface AdaptTensorSparsity extends TensorSparsity {
  /** Index of the adapter in the run's adapters. */
  readonly adapter: number;
}

/** What the pruning after one optimizer step did. */
export interface StepPruning {
  /** The optimizer step (1-based). */
  readonly step: number;
  readonly epoch: number;
  /** The ratio applied, or `null` when the schedule skipped this step. */
  readonly ratio: number | null;
  /** One entry per factor: A then B of each module of each adapter. */
  readonly tensors: readonly AdaptTensorSparsity[];
}

/** Options of {@link PruneHook}. */
export interface PruneHookOptions {
  readonly backend: Backend;
  readonly model: CausalLM;
  /** The adapters trained and pruned, in the run's order. */
  readonly adapters: readonly DeviceAdapter[];
  /** Scores, selects and masks (its metric's `requires` decides what the hook computes). */
  readonly pruner: Pruner;
  readonly normSource: NormSource;
  /** With `dataset` norms: after every step, or at each epoch's first step. */
  readonly refresh: 'step' | 'epoch';
  /** With `dataset` norms: the sequences they are taken over. */
  readonly calibration: readonly Pick<Example, 'ids'>[];
  /** With `running` norms: steps in the window (an epoch's). */
  readonly window: number;
}

type Squares = Pick<StepStatistics, 'inputSquares' | 'hiddenSquares'>;

/** What {@link PruneHook.saveState} keeps besides tensors. */
interface HookMeta {
  readonly normsEpoch?: number;
  readonly window?: number;
  readonly nextStep?: number;
  readonly last?: StepPruning | null;
}

/**
 * The method's pruning as a {@link TrainHook}: after every optimizer update
 * it provides what the pruner's metric declares it needs (`inputNorms`,
 * `hiddenNorms`, `gradients`) and prunes every factor of every adapter,
 * queued on the device with the step. Each step's report waits in
 * {@link PruneHook.take} for the caller to emit.
 */
export class PruneHook implements TrainHook {
  readonly #o: PruneHookOptions;
  readonly #needs: ReadonlySet<ImportanceInput>;
  readonly #owners: readonly { readonly adapter: number; readonly module: DeviceAdapter['modules'][number] }[];
  /** Initial factor values, for pruning to them. */
  readonly #initial = new Map<DeviceTensor, DeviceTensor>();
  /** The norms the last pruning used: `input` by module, `hidden` by adapter module key. */
  #norms: { input: Map<string, DeviceTensor>; hidden: Map<string, DeviceTensor> } = { input: new Map(), hidden: new Map() };
  /** With `dataset` norms refreshed per epoch: the epoch they were taken at. */
  #normsEpoch = -1;
  /** With `running` norms: each recent step's sums of squares, oldest first. */
  #window: Squares[] = [];
  readonly #reports = new Map<number, StepPruning>();
  /** The last step's report, kept in checkpoints so that a resumed run knows it without redoing the step. */
  #last: StepPruning | undefined;

  constructor(options: PruneHookOptions) {
    this.#o = options;
    this.#needs = new Set(options.pruner.metric.requires ?? []);
    this.#owners = options.adapters.flatMap((a, adapter) => a.modules.map((module) => ({ adapter, module })));
    if (options.pruner.mode === 'reset') {
      const k = options.backend.kernels;
      for (const { module: m } of this.#owners) for (const t of [m.a, m.b]) this.#initial.set(t, k.scale(t, 1));
    }
  }

  /** What the training forward passes must gather for this hook. */
  get statistics(): { inputs: boolean; hidden: boolean } | undefined {
    if (this.#o.normSource !== 'running') return undefined;
    const inputs = this.#needs.has('inputNorms');
    const hidden = this.#needs.has('hiddenNorms');
    return inputs || hidden ? { inputs, hidden } : undefined;
  }

  async afterUpdate(context: StepContext): Promise<void> {
    this.#refreshNorms(context);
    const modules = this.#owners.map(({ adapter, module: m }): PrunableModule => {
      const key = adapterModuleKey(adapter, m.name);
      const moments = (t: DeviceTensor) => context.moments(t);
      return {
        name: key,
        a: m.a,
        b: m.b,
        inputNorms: this.#norms.input.get(m.name),
        hiddenNorms: this.#norms.hidden.get(key),
        ...(this.#needs.has('gradients') ? { gradA: context.gradients.get(m.a), gradB: context.gradients.get(m.b) } : {}),
        initA: this.#initial.get(m.a),
        initB: this.#initial.get(m.b),
        momentsA: moments(m.a),
        momentsB: moments(m.b),
      };
    });
    const report: PruneReport = await this.#o.pruner.prune(modules, { step: context.step - 1 });
    const tensors = report.tensors.map((t, i) => ({ ...t, adapter: this.#owners[i >> 1].adapter, module: this.#owners[i >> 1].module.name }));
    this.#last = { step: context.step, epoch: context.epoch, ratio: report.ratio, tensors };
    this.#reports.set(context.step, this.#last);
  }

  /** The report of step `step`'s pruning, once (undefined if that step has none here). */
  take(step: number): StepPruning | undefined {
    const report = this.#reports.get(step);
    this.#reports.delete(step);
    return report;
  }

  async saveState(): Promise<HookState> {
    const tensors: Record<string, Tensor> = {};
    const b = this.#o.backend;
    const state = await this.#o.pruner.exportState();
    for (const [key, t] of state.metric) tensors[`metric/${key}`] = t;
    for (const [key, t] of state.masks) tensors[`mask/${key}`] = t;
    for (const [key, t] of this.#norms.input) tensors[`norm/input/${key}`] = await b.read(t);
    for (const [key, t] of this.#norms.hidden) tensors[`norm/hidden/${key}`] = await b.read(t);
    for (const [j, squares] of this.#window.entries()) {
      for (const [key, t] of squares.inputSquares) tensors[`window/${j}/input/${key}`] = await b.read(t);
      for (const [key, t] of squares.hiddenSquares) tensors[`window/${j}/hidden/${key}`] = await b.read(t);
    }
    return { tensors, meta: { normsEpoch: this.#normsEpoch, window: this.#window.length, nextStep: state.nextStep, last: this.#last ?? null } };
  }

  loadState(state: HookState): void {
    const meta = (state.meta ?? {}) as HookMeta;
    this.#last = meta.last ?? undefined;
    const pick = (prefix: string) =>
      new Map(
        Object.entries(state.tensors)
          .filter(([name]) => name.startsWith(prefix))
          .map(([name, t]) => [name.slice(prefix.length), t] as const),
      );
    this.#o.pruner.importState({ metric: pick('metric/'), masks: pick('mask/'), nextStep: meta.nextStep ?? 0 });
    const upload = (tensors: Map<string, Tensor>) => new Map([...tensors].map(([key, t]) => [key, this.#o.backend.upload(t)] as const));
    this.#freeNorms();
    this.#norms = { input: upload(pick('norm/input/')), hidden: upload(pick('norm/hidden/')) };
    this.#normsEpoch = meta.normsEpoch ?? -1;
    this.#freeWindow();
    this.#window = Array.from({ length: meta.window ?? 0 }, (_, j) => ({
      inputSquares: upload(pick(`window/${j}/input/`)),
      hiddenSquares: upload(pick(`window/${j}/hidden/`)),
    }));
  }

  /** The report of the last pruning a checkpointed hook state holds (undefined before the first step). */
  static lastPruning(state: HookState | undefined): StepPruning | undefined {
    return (state?.meta as HookMeta | undefined)?.last ?? undefined;
  }

  /** Frees the norms, the window and the initial values. */
  dispose(): void {
    this.#freeNorms();
    this.#freeWindow();
    for (const t of this.#initial.values()) this.#o.backend.free(t);
    this.#initial.clear();
  }

  #refreshNorms(context: StepContext): void {
    const { backend, model, adapters, normSource, refresh, calibration, window } = this.#o;
    const inputs = this.#needs.has('inputNorms');
    const hidden = this.#needs.has('hiddenNorms');
    if (!inputs && !hidden) return;
    if (normSource === 'running') {
      const step = context.statistics;
      if (!step) return;
      const k = backend.kernels;
      const copy = (m: ReadonlyMap<string, DeviceTensor>) => new Map([...m].map(([key, t]) => [key, k.scale(t, 1)] as const));
      this.#window.push({ inputSquares: copy(step.inputSquares), hiddenSquares: copy(step.hiddenSquares) });
      while (this.#window.length > window) freeSquares(backend, this.#window.shift()!);
      const sums = summed(backend, this.#window);
      this.#setNorms(sums);
      freeSquares(backend, sums);
      return;
    }
    if (refresh === 'epoch' && context.epoch === this.#normsEpoch) return;
    const squares = collectActivationSquares(backend, model, { examples: calibration, adapters, hidden });
    try {
      this.#setNorms(squares);
    } finally {
      freeStatistics(backend, squares);
    }
    this.#normsEpoch = context.epoch;
  }

  /** Takes the square roots of `squares` as the norms. */
  #setNorms(squares: Squares): void {
    const k = this.#o.backend.kernels;
    const roots = (m: ReadonlyMap<string, DeviceTensor>) => new Map([...m].map(([key, t]) => [key, k.sqrt(t)] as const));
    this.#freeNorms();
    this.#norms = { input: roots(squares.inputSquares), hidden: roots(squares.hiddenSquares) };
  }

  #freeNorms(): void {
    freeSquares(this.#o.backend, { inputSquares: this.#norms.input, hiddenSquares: this.#norms.hidden });
    this.#norms = { input: new Map(), hidden: new Map() };
  }

  #freeWindow(): void {
    for (const squares of this.#window) freeSquares(this.#o.backend, squares);
    this.#window = [];
  }
}

function freeSquares(backend: Backend, squares: Squares): void {
  for (const t of [...squares.inputSquares.values(), ...squares.hiddenSquares.values()]) backend.free(t);
}

/** The sum of each tensor over the window's steps, by key (new tensors; the caller frees them). */
function summed(backend: Backend, window: readonly Squares[]): Squares {
  const k = backend.kernels;
  const total = (pick: (s: Squares) => ReadonlyMap<string, DeviceTensor>) => {
    const out = new Map<string, DeviceTensor>();
    for (const squares of window) {
      for (const [key, t] of pick(squares)) {
        const previous = out.get(key);
        out.set(key, previous ? k.add(previous, t) : k.scale(t, 1));
        if (previous) backend.free(previous);
      }
    }
    return out;
  };
  return { inputSquares: total((s) => s.inputSquares), hiddenSquares: total((s) => s.hiddenSquares) };
}
