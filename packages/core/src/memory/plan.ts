import { createAdapterConfig, isTargetModule } from '../adapter/index.js';
import { Tape } from '../autograd/tape.js';
import type { DeviceDType, DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError } from '../errors/index.js';
import { adapterParameters, type DeviceAdapter } from '../model/device-adapter.js';
import { CausalLM } from '../model/llama.js';
import type { ModelConfig } from '../model/types.js';
import { expectedModelWeights } from '../model/weights.js';
import { collectActivationSquares } from '../stats/input-norms.js';
import { Tensor } from '../tensor/index.js';
import { freeStatistics, StepStatisticsCollector } from '../train/step-statistics.js';
import { PlanningBackend, type Classifier, type PeakSnapshot } from './planning-backend.js';
import { formatBytes } from './format.js';
import { REFERENCE_MEMORY_TRAITS, type MemoryTraits } from './traits.js';

/** One LoRA adapter as a plan sees it: its modules' names and ranks. */
export interface PlannedAdapter {
  /** Modules by base-model path (`model.layers.0.self_attn.q_proj`) with their rank. */
  readonly modules: readonly { readonly name: string; readonly rank: number }[];
  /** LoRA dropout probability in training (default 0). */
  readonly dropout?: number;
}

/** The work a plan covers besides the training passes. */
export interface PlannedAdapt {
  /** Where activation norms come from: `dataset` adds forward passes over single calibration sequences; `running` statistics in the training passes. */
  readonly normSource: 'dataset' | 'running';
  /** Which norms the importance metric reads (default `inputs`, the `lora` metric's). */
  readonly norms?: 'inputs' | 'hidden' | 'both' | 'none';
  /** Pruned entries reset to their initial values: a copy of every factor is kept. */
  readonly keepInitial?: boolean;
  /** Masks persist between steps (`masks: 'fixed'`): one byte per factor entry. */
  readonly persistentMasks?: boolean;
  /** With `running` norms: steps whose sums of squares are kept (an epoch's). */
  readonly windowSteps?: number;
}

/** Options of {@link planMemory}. */
export interface MemoryPlanOptions {
  /** The backend the run will use (default the reference backend's traits: no limit). */
  readonly backend?: MemoryTraits;
  /** Caps the backend's limit (a browser tab's budget, a share of a GPU). */
  readonly memoryBudget?: number;
  /** Examples per micro-batch (default 8). */
  readonly batchSize?: number;
  /** Tokens of the longest sequence: every micro-batch is planned padded to it (default the model's context). */
  readonly maxLength?: number;
  /**
   * The most positions with a target (not −100) in one micro-batch: the
   * chunked loss computes only those. Default every position (`batchSize ·
   * maxLength`); a run of summaries, whose loss covers the summary tokens
   * only, needs far fewer.
   */
  readonly targetTokens?: number;
  /** Micro-batches per optimizer step (default 1); above 1 the summed gradients stay live across micro-batches. */
  readonly accumulation?: number;
  /**
   * The LoRA adapters trained together: a count of adapters of `rank` on
   * `targets` (default 1), or each adapter's modules and ranks.
   */
  readonly adapters?: number | readonly PlannedAdapter[];
  /** Rank of counted adapters (default 8). */
  readonly rank?: number;
  /** Projections of counted adapters, as PEFT's `target_modules` (default q_proj, v_proj). */
  readonly targets?: readonly string[];
  /** LoRA dropout of counted adapters, or an override of every adapter's (default 0). */
  readonly loraDropout?: number;
  /** Dtype the frozen matrices are held in (default the config's `dtype`, else f32). Norms and biases are always f32. */
  readonly baseDtype?: 'f32' | 'bf16' | 'f16';
  /** The dtype of each weight as loaded (a model's {@link CausalLM.weights}): overrides `baseDtype` weight by weight. */
  readonly weights?: ReadonlyMap<string, { readonly dtype: DeviceDType }>;
  /** Plan `adapt()`'s pruning work too (norms, calibration passes). */
  readonly adapt?: PlannedAdapt;
  /** The run scores validation data after each epoch (forward passes of a micro-batch without gradients). */
  readonly validation?: boolean;
  /** Activation checkpointing of the decoder layers (default `none`; see `ForwardOptions.checkpointing`). */
  readonly checkpointing?: 'none' | 'layers';
}

/** The settings a plan was made for, defaults filled in. */
export interface MemoryPlanSettings {
  readonly backend: string;
  readonly batchSize: number;
  readonly maxLength: number;
  readonly accumulation: number;
  readonly baseDtype: 'f32' | 'bf16' | 'f16';
  readonly checkpointing: 'none' | 'layers';
  /** Number of adapters and their trainable parameters (A and B entries). */
  readonly adapters: number;
  readonly loraParameters: number;
}

/**
 * The live bytes at the plan's peak, by what holds them. They add up to
 * {@link MemoryPlan.peakBytes}.
 */
export interface MemoryBreakdown {
  /** The frozen base model (matrices in the base dtype, norms and biases f32). */
  readonly weights: number;
  /** LoRA factors, their AdamW moments, summed gradients and pruning state. */
  readonly lora: number;
  /** Activations the tape keeps for the backward pass. */
  readonly activations: number;
  /** Tensors of the LM head and loss (`[tokens, vocab]` logits and their gradient). */
  readonly head: number;
  /** Everything else live at that moment: gradients in flight, intermediates, kernel scratch. */
  readonly transient: number;
}

/** A change that makes a plan fit. */
export interface MemorySuggestion {
  /**
   * What changes, tried in this order (the first that fits): `checkpointing`
   * (`layers`: the same results, about one more forward pass of work),
   * `baseDtype` (an f32 model held as bf16), `batchSize` (with `accumulation`
   * to keep the step's examples), `maxLength` (shorter sequences), or `model`
   * (nothing fits: use a smaller model or a backend with more memory).
   */
  readonly change: 'checkpointing' | 'baseDtype' | 'batchSize' | 'maxLength' | 'model';
  /** The settings that fit (absent for `model`); later changes keep the earlier ones (checkpointing, bf16). */
  readonly settings?: Partial<Pick<MemoryPlanSettings, 'checkpointing' | 'baseDtype' | 'batchSize' | 'accumulation' | 'maxLength'>>;
  /** The peak with the change. */
  readonly peakBytes?: number;
  /** One sentence for people. */
  readonly message: string;
}

/** What {@link planMemory} returns. */
export interface MemoryPlan {
  /** An upper bound of the device bytes the run holds at once. */
  readonly peakBytes: number;
  /** The bytes at the peak by part. */
  readonly breakdown: MemoryBreakdown;
  /**
   * Which work peaks: a training micro-batch, a calibration pass (adapt's
   * dataset norms), adapt's pruning (every factor's scores and masks, the
   * step's gradients still held) or an evaluation pass.
   */
  readonly phase: 'train' | 'calibration' | 'prune' | 'evaluation';
  /** The kernel running at the peak, when it came inside one (its scratch counted). */
  readonly kernel?: string;
  /** The backend's limit (or the budget, when lower); undefined without one. */
  readonly limitBytes?: number;
  /** The largest single tensor (or kernel scratch block) of the run, in bytes. */
  readonly largestAllocationBytes: number;
  /** The most one tensor may take on the backend, when it has such a limit (a GPU buffer). */
  readonly maxAllocationBytes?: number;
  /** Whether the peak stays within the limit, and every tensor within the largest allowed. */
  readonly fits: boolean;
  /** The settings planned. */
  readonly settings: MemoryPlanSettings;
  /** When it does not fit: the smallest change that does. */
  readonly suggestion?: MemorySuggestion;
}

/** Resolved options of one simulation. */
interface Settings {
  readonly traits: MemoryTraits;
  readonly batchSize: number;
  readonly maxLength: number;
  readonly targetTokens: number | undefined;
  readonly accumulation: number;
  readonly baseDtype: 'f32' | 'bf16' | 'f16';
  readonly weights: ReadonlyMap<string, { readonly dtype: DeviceDType }> | undefined;
  readonly adapters: readonly PlannedAdapter[];
  readonly loraDropout: number | undefined;
  readonly adapt: PlannedAdapt | undefined;
  readonly validation: boolean;
  readonly checkpointing: 'none' | 'layers';
}

interface Simulated {
  readonly peak: PeakSnapshot;
  /** The largest single tensor or scratch block. */
  readonly largest: number;
  readonly phase: MemoryPlan['phase'];
  /** Entries of every A and B. */
  readonly loraParameters: number;
}

/**
 * The memory a LoRA training run of a model with `config` needs on a
 * backend, found by running the real forward and backward passes, the
 * optimizer's state and (with `adapt`) the pruning's calibration passes on
 * a {@link PlanningBackend}: every tensor at its real size (rounded as the
 * backend rounds), every kernel's scratch, nothing computed. The peak is an
 * upper bound: micro-batches are planned padded to `maxLength`. When it
 * exceeds the backend's limit (or `memoryBudget`), the plan suggests the
 * smallest change that fits. Throws `INVALID_OPTION` for bad settings.
 */
export function planMemory(config: ModelConfig, options: MemoryPlanOptions = {}): MemoryPlan {
  const settings = resolve(config, options);
  // Once to find the peak, once more to sort what is live at it into parts.
  const simulated = simulate(config, settings, simulate(config, settings).peak.bytes);
  const limits = { bytes: limitOf(settings.traits, options.memoryBudget), allocation: settings.traits.maxAllocationBytes };
  const fits = fitsIn(simulated, limits);
  return {
    ...summarise(simulated, settings),
    ...(limits.bytes === undefined ? {} : { limitBytes: limits.bytes }),
    largestAllocationBytes: simulated.largest,
    ...(limits.allocation === undefined ? {} : { maxAllocationBytes: limits.allocation }),
    fits,
    ...(fits ? {} : { suggestion: suggest(config, settings, limits) }),
  };
}

/** The limits a plan must keep: the whole, and one allocation. */
interface Limits {
  readonly bytes: number | undefined;
  readonly allocation: number | undefined;
}

function fitsIn(simulated: Simulated, limits: Limits): boolean {
  return (limits.bytes === undefined || simulated.peak.bytes <= limits.bytes) && (limits.allocation === undefined || simulated.largest <= limits.allocation);
}

/** The bytes a plan may reach: the backend's limit, or the budget when lower. */
function limitOf(traits: MemoryTraits, budget: number | undefined): number | undefined {
  if (budget !== undefined && !(Number.isFinite(budget) && budget > 0))
    throw new LoraFuseError('INVALID_OPTION', `memoryBudget must be a positive number of bytes; got ${String(budget)}.`);
  if (traits.limitBytes === undefined) return budget;
  return budget === undefined ? traits.limitBytes : Math.min(budget, traits.limitBytes);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new LoraFuseError('INVALID_OPTION', `${name} must be a positive integer; got ${String(value)}.`);
  return value;
}

function resolve(config: ModelConfig, options: MemoryPlanOptions): Settings {
  const rank = positiveInteger('rank', options.rank ?? 8);
  const count = options.adapters ?? 1;
  const adapters =
    typeof count === 'number' ? Array.from({ length: positiveInteger('adapters', count) }, () => countedAdapter(config, rank, options.targets)) : count;
  if (adapters.length === 0) throw new LoraFuseError('INVALID_OPTION', 'A memory plan needs at least one adapter.');
  const dropout = options.loraDropout;
  if (dropout !== undefined && !(dropout >= 0 && dropout < 1)) throw new LoraFuseError('INVALID_OPTION', `loraDropout must be in [0, 1); got ${dropout}.`);
  return {
    traits: options.backend ?? REFERENCE_MEMORY_TRAITS,
    batchSize: positiveInteger('batchSize', options.batchSize ?? 8),
    maxLength: positiveInteger('maxLength', options.maxLength ?? config.maxPositionEmbeddings),
    targetTokens: options.targetTokens === undefined ? undefined : positiveInteger('targetTokens', options.targetTokens),
    accumulation: positiveInteger('accumulation', options.accumulation ?? 1),
    baseDtype: options.baseDtype ?? config.dtype ?? 'f32',
    weights: options.weights,
    adapters,
    loraDropout: dropout,
    adapt: options.adapt,
    validation: options.validation ?? false,
    checkpointing: options.checkpointing ?? 'none',
  };
}

/** An adapter of `rank` on the projections `targets` selects, as `initLoraAdapter` would make it. */
function countedAdapter(config: ModelConfig, rank: number, targets: readonly string[] = ['q_proj', 'v_proj']): PlannedAdapter {
  const adapterConfig = createAdapterConfig({ r: rank, loraAlpha: 2 * rank, targetModules: [...targets] });
  const modules = expectedModelWeights(config)
    .filter((w) => w.shape.length === 2 && w.name !== 'model.embed_tokens.weight' && w.name !== 'lm_head.weight')
    .map((w) => w.name.slice(0, -'.weight'.length))
    .filter((name) => isTargetModule(adapterConfig, name))
    .map((name) => ({ name, rank }));
  if (modules.length === 0) throw new LoraFuseError('INVALID_OPTION', `No projection of the model matches the LoRA targets ${JSON.stringify(targets)}.`);
  return { modules };
}

/**
 * Runs the run's passes on a planning backend and returns the highest of
 * their peaks; with `breakdownAt` (that peak, from an earlier run), also
 * what is live at it, by part.
 */
function simulate(config: ModelConfig, s: Settings, breakdownAt?: number): Simulated {
  let classify: Classifier = () => 'transient';
  const pb = new PlanningBackend(s.traits, breakdownAt === undefined ? undefined : { classify: (t) => classify(t), captureAt: breakdownAt });
  const roles = new Map<DeviceTensor, 'weights' | 'lora'>();
  const place = (shape: readonly number[], dtype: DeviceDType, role: 'weights' | 'lora') => {
    const t = pb.placeholder(shape, dtype);
    roles.set(t, role);
    return t;
  };
  const specs = expectedModelWeights(config);
  const shapes = new Map(specs.map((w) => [w.name, w.shape]));
  const dtypeOf = (name: string, shape: readonly number[]) => (shape.length === 1 ? 'f32' : (s.weights?.get(name)?.dtype ?? s.baseDtype));
  const weights = new Map(specs.map((w) => [w.name, place(w.shape, dtypeOf(w.name, w.shape), 'weights')]));
  const model = CausalLM.fromDeviceWeights(pb, config, weights);
  const adapters: DeviceAdapter[] = s.adapters.map((adapter) => ({
    modules: adapter.modules.map(({ name, rank }) => {
      const [out, inFeatures] = shapes.get(`${name}.weight`) ?? [];
      if (out === undefined) throw new LoraFuseError('INVALID_OPTION', `${name} is not a projection of this model.`, { details: { module: name } });
      return { name, a: place([rank, inFeatures], 'f32', 'lora'), b: place([out, rank], 'f32', 'lora'), scaling: 1 };
    }),
    ...(adapter.dropout ? { dropout: adapter.dropout } : {}),
  }));
  const params = adapters.flatMap(adapterParameters);
  const loraParameters = params.reduce((n, p) => n + p.size, 0);
  // AdamW's moments, and the state adapt keeps between steps.
  for (const p of params) {
    place(p.shape, 'f32', 'lora');
    place(p.shape, 'f32', 'lora');
    if (s.adapt?.keepInitial) place(p.shape, 'f32', 'lora');
    if (s.adapt?.persistentMasks) place(p.shape, 'u8', 'lora');
  }
  const norms = s.adapt?.norms ?? 'inputs';
  const inputNorms = s.adapt !== undefined && (norms === 'inputs' || norms === 'both');
  const hiddenNorms = s.adapt !== undefined && (norms === 'hidden' || norms === 'both');
  // The norms in use, and with running norms each kept step's sums of squares.
  const copies = 1 + (s.adapt?.normSource === 'running' ? (s.adapt.windowSteps ?? 1) : 0);
  for (let i = 0; i < copies; i++) {
    for (const adapter of adapters) {
      for (const m of adapter.modules) {
        if (inputNorms) place([m.a.shape[1]], 'f32', 'lora');
        if (hiddenNorms) place([m.a.shape[0]], 'f32', 'lora');
      }
    }
  }
  const paramShapes = new Set(params.map((p) => p.shape.join(',')));
  let tape: Tape | undefined;
  classify = (t) => {
    const role = roles.get(t);
    if (role) return role;
    if (t.shape[t.shape.length - 1] === config.vocabSize) return 'head';
    if (tape?.isSaved(t)) return 'activations';
    // Gradients of the factors, in flight.
    if (t.shape.length === 2 && paramShapes.has(t.shape.join(','))) return 'lora';
    return 'transient';
  };
  const { batchSize: batch, maxLength: seq } = s;
  const ids = (rows: number) => new Tensor('i32', [rows, seq]);
  // The first targetTokens positions of a micro-batch have a target, the rest none.
  const counted = Math.min(s.targetTokens ?? batch * seq, batch * seq);
  const targets = new Tensor(
    'i32',
    [batch, seq],
    Int32Array.from({ length: batch * seq }, (_, i) => (i < counted ? 0 : -100)),
  );
  const phases: Simulated[] = [];

  // A training micro-batch: forward and backward, with an earlier micro-batch's gradients when accumulating.
  pb.resetPeak();
  // Accumulating: the earlier micro-batches' summed gradients and their losses (held for the step's verdict).
  const prior = s.accumulation > 1 ? params.map((p) => place(p.shape, 'f32', 'lora')) : [];
  const losses = Array.from({ length: s.accumulation - 1 }, () => place([], 'f32', 'lora'));
  const running = s.adapt?.normSource === 'running';
  const statistics = running ? StepStatisticsCollector.forAdapters(pb, adapters, { inputs: inputNorms, hidden: hiddenNorms }) : undefined;
  tape = new Tape(pb);
  tape.watch(...params);
  const onLinearInput = statistics?.beginBatch(new Array<number>(batch).fill(seq), seq);
  const dropout = { seed: 0, key: 'plan', ...(s.loraDropout === undefined ? {} : { p: s.loraDropout }) };
  const { loss } = model.forward(tape, tape.constant(ids(batch)), { adapters, targets, dropout, onLinearInput, checkpointing: s.checkpointing });
  const grads = tape.backward(loss!);
  tape = undefined;
  for (const [i, p] of params.entries()) {
    const g = grads.get(p);
    if (g && prior[i]) pb.free(pb.kernels.add(prior[i], g));
  }
  for (const p of [...prior, ...losses]) pb.free(p);
  if (statistics) freeStatistics(pb, statistics.take());
  statistics?.dispose();
  phases.push({ peak: pb.peak, phase: 'train', loraParameters, largest: 0 });

  // Adapt's pruning runs as a step hook, while the step's gradients are still held.
  if (s.adapt?.normSource === 'dataset') {
    pb.resetPeak();
    const squares = collectActivationSquares(pb, model, { examples: [{ ids: new Array<number>(seq).fill(0) }], adapters, hidden: hiddenNorms });
    freeStatistics(pb, squares);
    phases.push({ peak: pb.peak, phase: 'calibration', loraParameters, largest: 0 });
  }
  if (s.adapt) {
    // The pruner scores every factor (f32) before it selects, then holds every factor's mask (u8) until it applies them.
    pb.resetPeak();
    const held = params.flatMap((p) => [pb.placeholder(p.shape, 'f32'), pb.placeholder(p.shape, 'u8')]);
    for (const t of held) pb.free(t);
    phases.push({ peak: pb.peak, phase: 'prune', loraParameters, largest: 0 });
  }
  for (const g of grads.values()) pb.free(g);
  if (s.validation) {
    pb.resetPeak();
    const evaluation = new Tape(pb);
    model.forward(evaluation, evaluation.constant(ids(batch)), { adapters, targets });
    evaluation.dispose();
    phases.push({ peak: pb.peak, phase: 'evaluation', loraParameters, largest: 0 });
  }
  const highest = phases.reduce((a, b) => (b.peak.bytes > a.peak.bytes ? b : a));
  return { ...highest, largest: pb.largestAllocation };
}

function summarise(simulated: Simulated, s: Settings): Pick<MemoryPlan, 'peakBytes' | 'breakdown' | 'phase' | 'kernel' | 'settings'> {
  const { parts } = simulated.peak;
  const part = (name: string) => parts[name] ?? 0;
  return {
    peakBytes: simulated.peak.bytes,
    breakdown: {
      weights: part('weights'),
      lora: part('lora'),
      activations: part('activations'),
      head: part('head'),
      transient: part('transient') + part('scratch'),
    },
    phase: simulated.phase,
    ...(simulated.peak.kernel ? { kernel: simulated.peak.kernel } : {}),
    settings: {
      backend: s.traits.name,
      batchSize: s.batchSize,
      maxLength: s.maxLength,
      accumulation: s.accumulation,
      baseDtype: s.baseDtype,
      checkpointing: s.checkpointing,
      adapters: s.adapters.length,
      loraParameters: simulated.loraParameters,
    },
  };
}

/** The settings of a suggestion's kept changes. */
function settingsOf(kept: Partial<Settings>): NonNullable<MemorySuggestion['settings']> {
  return { ...(kept.checkpointing ? { checkpointing: kept.checkpointing } : {}), ...(kept.baseDtype ? { baseDtype: kept.baseDtype } : {}) };
}

/** The words for the kept changes before the last one. */
function lead(kept: Partial<Settings>): string {
  const words = [...(kept.checkpointing ? ['checkpoint the decoder layers'] : []), ...(kept.baseDtype ? ['hold the weights as bf16'] : [])];
  return words.length === 0 ? '' : `${words.join(', ')}, and `;
}

/** Tokens lengths tried when shortening: multiples of this. */
const LENGTH_STEP = 16;

/**
 * The first change that fits, in order of how little it changes the run:
 * checkpointing the layers (the same results, more work), holding an f32
 * model as bf16, a smaller micro-batch with more accumulation (the same
 * examples per step), shorter sequences (the data is truncated), else a
 * smaller model. Each later change keeps the earlier ones.
 */
function suggest(config: ModelConfig, s: Settings, limits: Limits): MemorySuggestion {
  /** The peak with `change`, or undefined when it does not fit. */
  const peakWith = (change: Partial<Settings>) => {
    const simulated = simulate(config, { ...s, ...change });
    return fitsIn(simulated, limits) ? simulated.peak.bytes : undefined;
  };
  const kept: { -readonly [K in keyof Settings]?: Settings[K] } = {};
  if (s.checkpointing === 'none') {
    kept.checkpointing = 'layers';
    const peak = peakWith(kept);
    if (peak !== undefined)
      return {
        change: 'checkpointing',
        settings: { checkpointing: 'layers' },
        peakBytes: peak,
        message: "checkpoint the decoder layers (checkpointing: 'layers').",
      };
  }
  const wide = s.baseDtype === 'f32' && (s.weights === undefined || [...s.weights.values()].some((w) => w.dtype === 'f32'));
  if (wide) {
    Object.assign(kept, { baseDtype: 'bf16', weights: undefined });
    const peak = peakWith(kept);
    if (peak !== undefined)
      return {
        change: 'baseDtype',
        settings: settingsOf(kept),
        peakBytes: peak,
        message: `${lead(kept)}hold the base model's weights as bf16 (baseDtype: 'bf16').`,
      };
  }
  for (let batch = Math.floor(s.batchSize / 2); batch >= 1; batch = Math.floor(batch / 2)) {
    const peak = peakWith({ ...kept, batchSize: batch });
    if (peak !== undefined) {
      const accumulation = s.accumulation * Math.ceil(s.batchSize / batch);
      return {
        change: 'batchSize',
        settings: { ...settingsOf(kept), batchSize: batch, accumulation },
        peakBytes: peak,
        message: `${lead(kept)}use batch size ${batch} with accumulation ${accumulation} (the same ${s.batchSize * s.accumulation} examples per step).`,
      };
    }
  }
  // The longest length (a multiple of LENGTH_STEP) that fits at batch size 1.
  let lo = 0;
  let hi = Math.floor((s.maxLength - 1) / LENGTH_STEP);
  let found: number | undefined;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const peak = peakWith({ ...kept, batchSize: 1, maxLength: mid * LENGTH_STEP });
    if (peak !== undefined) {
      lo = mid;
      found = peak;
    } else hi = mid - 1;
  }
  if (lo > 0) {
    const maxLength = lo * LENGTH_STEP;
    const accumulation = s.accumulation * s.batchSize;
    return {
      change: 'maxLength',
      settings: { ...settingsOf(kept), batchSize: 1, accumulation, maxLength },
      ...(found === undefined ? {} : { peakBytes: found }),
      message: `${lead(kept)}use sequences of at most ${maxLength} tokens at batch size 1 with accumulation ${accumulation}.`,
    };
  }
  const available = [
    ...(limits.bytes === undefined ? [] : [`${formatBytes(limits.bytes)} in all`]),
    ...(limits.allocation === undefined ? [] : [`${formatBytes(limits.allocation)} per tensor`]),
  ].join(' and ');
  return {
    change: 'model',
    message: `even one sequence of ${LENGTH_STEP} tokens needs more than the ${available} available: use a smaller model or a backend with more memory.`,
  };
}
