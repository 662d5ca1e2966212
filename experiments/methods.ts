import {
  adaptiveMerge,
  freeAdapter,
  parseJsonBytes,
  readFile,
  searchMergeWeights,
  throwIfAborted,
  uploadAdapter,
  type Backend,
  type CausalLM,
  type Example,
  type LoraAdapter,
  type MergerPlugin,
  type PluginRegistry,
  type RougeTokenization,
  type Tokenizer,
  type WritableFolder,
} from '@lorafuse/core';
import { adapterSparsity } from '@lorafuse/demo';
import { jsonBytes, subfolder } from '../packages/demo/src/files.js';
import { trainedLora } from '../packages/demo/src/stages.js';
import type { TargetSplits } from './corpus.js';
import { encodePages, scorePages, type ItemScore, type SplitScores } from './evaluate.js';
import type { TargetSpec } from './config.js';
import type { ExperimentSettings } from './settings.js';

/** The compared methods, in table order. */
export const METHODS = ['zero-shot', 'target-only', 'cat', 'ties', 'lorahub', 'adaptive', 'adaptive+prune'] as const;
/** One compared method. */
export type Method = (typeof METHODS)[number];

/** One method's result on one target with one seed (written as `<target>/seed-<n>/<method>.json`). */
export interface MethodResult {
  readonly target: string;
  readonly seed: number;
  readonly method: Method;
  /** The settings' name (`full` or `quick`). */
  readonly settings: string;
  /** Test scores (ROUGE tokenised as `tokenization`: words for English, characters for Japanese). */
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
  readonly loss: number;
  readonly tokenization: RougeTokenization;
  /** Share of the evaluated LoRA factors' entries that are exactly zero (`null` for the base model). */
  readonly sparsity: number | null;
  /**
   * Wall-clock seconds of the method's training, search or merge (the shared target LoRA's training counts for
   * target-only only), and of its test evaluation.
   */
  readonly seconds: { readonly fit: number; readonly evaluate: number };
  /** Method-specific facts: LoraHub's weights, the pruning grid's dev scores and the chosen ratio, the training curve. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Per test item scores and greedy summaries. */
  readonly items: readonly ItemScore[];
}

/** What one target-and-seed run needs. */
interface TargetRun {
  readonly backend: Backend;
  readonly model: CausalLM;
  readonly settings: ExperimentSettings;
  readonly target: TargetSpec;
  readonly splits: TargetSplits;
  /** The related-domain LoRAs, in `settings.relatedDomains` order. */
  readonly related: readonly LoraAdapter[];
  readonly seed: number;
  /** The methods to run, in {@link METHODS} order. */
  readonly methods: readonly Method[];
  readonly tokenizer: Tokenizer;
  readonly plugins: PluginRegistry;
  /** This target and seed's cache folder: the target LoRA and each finished method's result. */
  readonly cache: WritableFolder;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** One point of an adaptive merge's training curve. */
interface CurvePoint {
  readonly step: number;
  readonly loss: number;
  readonly sparsity: number;
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const FIT_FILE = 'fit-seconds.json';

/**
 * Runs the run's methods on one target with one seed, skipping those whose
 * result the cache already holds, and returns their results in
 * {@link METHODS} order. The seed drives the target LoRA's initialisation
 * and every shuffle and search; the base model and the related LoRAs are
 * shared by all seeds.
 */
export async function runTarget(run: TargetRun): Promise<MethodResult[]> {
  const { backend, model, settings, splits, tokenizer, seed, signal } = run;
  const tokenization: RougeTokenization = run.target.rouge;
  const merger = (name: string) => run.plugins.get('merger', name) as MergerPlugin;
  const train = encodePages(splits.train, tokenizer, settings.maxLength);
  const score = async (adapter: LoraAdapter | null, pages: TargetSplits['test']): Promise<SplitScores> => {
    const devices = adapter ? [uploadAdapter(backend, adapter)] : [];
    try {
      return await scorePages(backend, model, pages, {
        adapters: devices,
        tokenizer,
        maxLength: settings.maxLength,
        maxNewTokens: settings.maxNewTokens,
        tokenization,
        signal,
      });
    } finally {
      for (const d of devices) freeAdapter(backend, d);
    }
  };

  // The target LoRA is shared by five methods; its training time (kept next to it in the cache) is target-only's fit time.
  let targetLora: { adapter: LoraAdapter; fit: number } | undefined;
  const target = async () => {
    if (targetLora) return targetLora;
    const folder = subfolder(run.cache, 'target-lora');
    const started = performance.now();
    const { adapter, cached } = await trainedLora(
      backend,
      model,
      settings,
      settings.target,
      { examples: train, padId: tokenizer.pad, seed, cache: folder, signal },
      () => throwIfAborted(signal),
    );
    if (!cached) await folder.write(FIT_FILE, [jsonBytes({ seconds: seconds(started) })]);
    const { seconds: fit } = parseJsonBytes(await readFile(folder, FIT_FILE), FIT_FILE) as { seconds: number };
    targetLora = { adapter, fit };
    return targetLora;
  };
  const inputs = async () => [(await target()).adapter, ...run.related];

  const adaptive = async (ratio: number, examples: readonly Example[]) => {
    const curve: CurvePoint[] = [];
    let loss = NaN;
    const a = settings.adapt;
    const { merged } = await adaptiveMerge(backend, model, {
      adapters: await inputs(),
      train: examples,
      padId: tokenizer.pad,
      ratio,
      // Without pruning no importance is needed: magnitude at ratio 0 prunes nothing and skips the input-norm passes.
      metric: ratio === 0 ? 'magnitude' : 'lora',
      grouping: 'module',
      refresh: 'epoch',
      lr: a.lr,
      weightDecay: 0,
      batchSize: a.batchSize,
      accumulation: a.accumulation,
      epochs: a.epochs,
      epochDecay: a.epochDecay,
      plugins: run.plugins,
      seed,
      signal,
      onProgress: (event) => {
        if (event.type === 'step') loss = event.loss;
        if (event.type === 'prune') {
          const size = event.tensors.reduce((s, t) => s + t.size, 0);
          curve.push({ step: event.step, loss, sparsity: event.tensors.reduce((s, t) => s + t.pruned, 0) / Math.max(1, size) });
        }
      },
    });
    return { merged, curve };
  };

  /** Each method: the adapter it evaluates (null: the base model) and its details; the fit time is measured around it. */
  const fits: Record<Method, () => Promise<{ adapter: LoraAdapter | null; details: Record<string, unknown> }>> = {
    'zero-shot': async () => ({ adapter: null, details: {} }),
    'target-only': async () => ({ adapter: (await target()).adapter, details: {} }),
    cat: async () => ({ adapter: await merger('cat').merge(await inputs(), {}), details: {} }),
    ties: async () => ({ adapter: await merger('ties').merge(await inputs(), { density: settings.tiesDensity }), details: { density: settings.tiesDensity } }),
    lorahub: async () => {
      const adapters = await inputs();
      const found = await searchMergeWeights(backend, model, adapters, train, {
        merger: merger('lorahub'),
        padId: tokenizer.pad,
        budget: settings.lorahubBudget,
        seed,
        signal,
      });
      return {
        adapter: await merger('lorahub').merge(adapters, { weights: found.weights }),
        details: { weights: found.weights, objective: found.objective, trainLoss: found.loss },
      };
    },
    adaptive: async () => {
      const { merged, curve } = await adaptive(0, train);
      const dev = await score(merged, splits.dev);
      return { adapter: merged, details: { devRougeL: dev.rougeL, curve } };
    },
    'adaptive+prune': async () => {
      let best: { ratio: number; devRougeL: number; merged: LoraAdapter; curve: CurvePoint[] } | undefined;
      const grid: { ratio: number; devRougeL: number; devLoss: number }[] = [];
      for (const ratio of settings.ratioGrid) {
        const { merged, curve } = await adaptive(ratio, train);
        const dev = await score(merged, splits.dev);
        grid.push({ ratio, devRougeL: dev.rougeL, devLoss: dev.loss });
        run.log(`    ratio ${ratio}: dev ROUGE-L ${dev.rougeL.toFixed(4)}`);
        if (!best || dev.rougeL > best.devRougeL) best = { ratio, devRougeL: dev.rougeL, merged, curve };
      }
      return { adapter: best!.merged, details: { ratio: best!.ratio, grid, curve: best!.curve } };
    },
  };

  const results: MethodResult[] = [];
  for (const method of run.methods) {
    const file = `${method}.json`;
    if (await run.cache.exists(file)) {
      results.push(parseJsonBytes(await readFile(run.cache, file), file) as MethodResult);
      run.log(`  ${method}: cached`);
      continue;
    }
    throwIfAborted(signal);
    // Every method but zero-shot starts from the target LoRA; its training counts once, as target-only's fit.
    if (method !== 'zero-shot') await target();
    const started = performance.now();
    const { adapter, details } = await fits[method]();
    const fit = method === 'target-only' ? (await target()).fit : seconds(started);
    const evaluated = performance.now();
    const test = await score(adapter, splits.test);
    const result: MethodResult = {
      target: run.target.name,
      seed,
      method,
      settings: settings.name,
      rouge1: test.rouge1,
      rouge2: test.rouge2,
      rougeL: test.rougeL,
      loss: test.loss,
      tokenization,
      sparsity: adapter ? adapterSparsity(adapter) : null,
      seconds: { fit, evaluate: seconds(evaluated) },
      details,
      items: test.items,
    };
    await run.cache.write(file, [jsonBytes(result)]);
    run.log(`  ${method}: ROUGE-L ${test.rougeL.toFixed(4)}, loss ${test.loss.toFixed(3)}, ${fit.toFixed(0)} s fit`);
    results.push(result);
  }
  return results;
}
