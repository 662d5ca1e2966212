import {
  ADAPT_PROVENANCE_FILE,
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adaptiveMerge,
  buildAdaptProvenance,
  ByteTokenizer,
  freeAdapter,
  MODEL_CONFIG_FILE,
  MODEL_WEIGHTS_FILE,
  PluginRegistry,
  PUBLISHED_ADAPT_SETTINGS,
  saveAdapter,
  saveModelFolder,
  throwIfAborted,
  uploadAdapter,
  type Backend,
  type LoraAdapter,
  type MergerPlugin,
  type WritableFolder,
} from '@lorafuse/core';
import { registerBuiltinPlugins } from '@lorafuse/plugins';
import { generateCorpus } from './corpus.js';
import { RELATED_DOMAINS, TARGET_DOMAIN } from './domains.js';
import { scoreOnTest, type TestScores } from './evaluate.js';
import { hashFiles, jsonBytes, jsonlBytes, sha256Hex, subfolder } from './files.js';
import { lineChartSvg } from './plot.js';
import { adapterSparsity } from './sparsity.js';
import { FULL_DEMO_SETTINGS, type DemoSettings } from './settings.js';
import { baseModel, downloadWeights, encodePairs, trainedLora } from './stages.js';

/** The rows of the demo's table, in order. */
export type DemoMethod = 'base' | 'target-only' | 'cat-merge' | 'adaptive' | 'adaptive+prune';

/** The stages the demo reports progress for. */
export type DemoStage = 'pretrain' | 'related' | 'target' | 'adapt' | 'adapt-prune' | 'evaluate';

/** A progress report: `done` of `total` units of `stage` (optimizer steps; methods while evaluating). */
export interface DemoProgress {
  /** The stage running. */
  readonly stage: DemoStage;
  /** What the unit belongs to, e.g. the related domain being trained. */
  readonly label: string;
  /** Units done so far. */
  readonly done: number;
  /** Units of the stage (of the current LoRA for `related`). */
  readonly total: number;
  /** Training loss of the last step, while training. */
  readonly loss?: number;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where everything runs. */
  readonly backend: Backend;
  /** Where the demo writes its data, models, adapters, plot and results (paths in {@link DemoResult.files}). */
  readonly out: WritableFolder;
  /** What to compute; default {@link FULL_DEMO_SETTINGS}. */
  readonly settings?: DemoSettings;
  /** Seed of the corpus, the initialisations and the shuffles (default 0). */
  readonly seed?: number;
  /**
   * Folders for the base model and the related LoRAs, by a key that hashes
   * everything they depend on; a folder that already holds one is reused
   * (the result is bit-identical to training it again).
   */
  readonly cache?: (key: string) => WritableFolder;
  /** Package versions recorded in the provenance file. */
  readonly versions?: Readonly<Record<string, string>>;
  /** Checked between steps; aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each optimizer step of every stage and after each method is scored. */
  readonly onProgress?: (progress: DemoProgress) => void;
}

/** One row of the table: a method scored on the target's held-out test pairs. */
export interface DemoRow extends TestScores {
  /** The method scored. */
  readonly method: DemoMethod;
  /** Share of the evaluated LoRA factors' entries that are exactly zero (`null` for the base model). */
  readonly sparsity: number | null;
  /** Rank of the evaluated adapter (`null` for the base model). */
  readonly rank: number | null;
}

/** One point of the adaptive merges' training curves. */
export interface CurvePoint {
  /** Optimizer step (1-based). */
  readonly step: number;
  /** Mean training loss of the step. */
  readonly loss: number;
  /** Share of all factor entries pruned after the step (0 without pruning). */
  readonly sparsity: number;
}

/** A test pair with every method's summary. */
export interface DemoSample {
  /** The pair's language. */
  readonly language: 'en' | 'ja';
  /** The text summarized. */
  readonly source: string;
  /** The reference summary. */
  readonly reference: string;
  /** Each method's greedy summary. */
  readonly outputs: Readonly<Record<DemoMethod, string>>;
}

/** What {@link runDemo} returns (and writes as `results.json`). */
export interface DemoResult {
  /** The settings' name (`full` or `quick`). */
  readonly settings: string;
  /** The seed of the run. */
  readonly seed: number;
  /** The backend's name. */
  readonly backend: string;
  /** One row per method, in {@link DemoMethod} order. */
  readonly rows: readonly DemoRow[];
  /** The adaptive merge's curve without pruning, and with pruning. */
  readonly curves: { readonly adaptive: readonly CurvePoint[]; readonly pruned: readonly CurvePoint[] };
  /** The first English and the first Japanese test pair. */
  readonly samples: readonly DemoSample[];
  /** Pairs per split (both languages). */
  readonly data: { readonly pretrainTexts: number; readonly relatedPairs: number; readonly targetTrain: number; readonly targetTest: number };
  /** Base-model parameters. */
  readonly parameters: number;
  /** Whether the base model and how many related LoRAs came from the cache. */
  readonly cached: { readonly base: boolean; readonly related: number };
  /** Wall-clock seconds per stage. */
  readonly seconds: Readonly<Record<DemoStage, number>>;
  /** Every file written, relative to the output folder. */
  readonly files: readonly string[];
}

/** Where the adaptive merge + pruning adapter goes inside the output folder. */
export const DEMO_ADAPTER_DIR = 'adapter';
/** The base model's folder inside the output folder. */
export const DEMO_MODEL_DIR = 'base-model';
/** The target test data inside the output folder. */
export const DEMO_TEST_FILE = 'data/rail-test.jsonl';
/** The plot inside the output folder. */
export const DEMO_PLOT_FILE = 'loss-sparsity.svg';
/** The results inside the output folder. */
export const DEMO_RESULTS_FILE = 'results.json';

const ADAPTER_FILES = [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE];

function pairRecords(pairs: readonly { source: string; summary: string }[]): object[] {
  return pairs.map(({ source, summary }) => ({ source, summary }));
}

/**
 * The whole method on the built-in task, from nothing: generates the
 * corpus, pretrains the base model (or reuses the cached one), trains a LoRA
 * per related domain and a target-only LoRA on the target's few pairs,
 * merges them statically (`cat`), runs the adaptive merge without and with
 * pruning, and scores all five on the held-out target test pairs (loss and
 * ROUGE-L of greedy summaries). Writes the data, the base model, every
 * adapter, the pruned adaptive merge with its provenance, an SVG plot of loss
 * and sparsity over steps, and the results to `out`.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { backend, out, signal } = options;
  const settings = options.settings ?? FULL_DEMO_SETTINGS;
  const seed = options.seed ?? 0;
  const tokenizer = new ByteTokenizer();
  const plugins = registerBuiltinPlugins(new PluginRegistry(), { random: { seed } });
  const progress = (stage: DemoStage, label: string) => (done: number, total: number, loss?: number) => {
    throwIfAborted(signal);
    options.onProgress?.({ stage, label, done, total, loss });
  };
  const seconds: Record<DemoStage, number> = { pretrain: 0, related: 0, target: 0, adapt: 0, 'adapt-prune': 0, evaluate: 0 };
  const timed = async <T>(stage: DemoStage, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      seconds[stage] += (performance.now() - started) / 1000;
    }
  };
  const files: string[] = [];
  const write = async (path: string, bytes: Uint8Array) => {
    await out.write(path, [bytes]);
    files.push(path);
  };

  const corpus = generateCorpus(seed, settings.corpus);
  await write('data/pretrain.jsonl', jsonlBytes(corpus.pretrain.map((text) => ({ text }))));
  for (const [domain, pairs] of corpus.related) await write(`data/${domain}.jsonl`, jsonlBytes(pairRecords(pairs)));
  await write(`data/${TARGET_DOMAIN}-train.jsonl`, jsonlBytes(pairRecords(corpus.targetTrain)));
  await write(DEMO_TEST_FILE, jsonlBytes(pairRecords(corpus.targetTest)));

  const key = async (what: unknown) => (await sha256Hex(jsonBytes(what))).slice(0, 16);
  // Bump the format when the generator or the training changes; backends differ in the last bits, so each gets its own.
  const baseKey = await key({
    format: 'lorafuse-demo/1',
    backend: backend.name,
    seed,
    model: settings.model,
    maxLength: settings.maxLength,
    pretrain: settings.pretrain,
    texts: settings.corpus.pretrain,
  });
  const cache = (name: string) => options.cache?.(name);
  const { model, cached } = await timed('pretrain', () =>
    baseModel(backend, settings, corpus.pretrain, tokenizer, seed, cache(`base-${baseKey}`), progress('pretrain', 'base model'), signal),
  );
  try {
    const config = model.config;
    await saveModelFolder(subfolder(out, DEMO_MODEL_DIR), config, await downloadWeights(backend, model));
    files.push(`${DEMO_MODEL_DIR}/${MODEL_CONFIG_FILE}`, `${DEMO_MODEL_DIR}/${MODEL_WEIGHTS_FILE}`);
    const lora = (
      stage: DemoStage,
      label: string,
      pairs: Parameters<typeof encodePairs>[0],
      stageSettings: DemoSettings['related'],
      loraSeed: number,
      cacheKey?: string,
    ) =>
      timed(stage, () =>
        trainedLora(
          backend,
          model,
          settings,
          stageSettings,
          {
            examples: encodePairs(pairs, tokenizer, settings.maxLength),
            padId: tokenizer.pad,
            seed: loraSeed,
            cache: cacheKey === undefined ? undefined : cache(cacheKey),
            signal,
          },
          progress(stage, label),
        ),
      );

    const related: LoraAdapter[] = [];
    let relatedCached = 0;
    for (const [i, domain] of RELATED_DOMAINS.entries()) {
      const k = await key({ base: baseKey, domain, lora: settings.lora, related: settings.related, pairs: settings.corpus.related });
      const trained = await lora('related', domain, corpus.related.get(domain)!, settings.related, (seed + i + 1) >>> 0, `related-${domain}-${k}`);
      related.push(trained.adapter);
      if (trained.cached) relatedCached++;
      await saveAdapter(subfolder(out, `related/${domain}`), trained.adapter);
      files.push(...ADAPTER_FILES.map((f) => `related/${domain}/${f}`));
    }
    const target = (await lora('target', TARGET_DOMAIN, corpus.targetTrain, settings.target, seed)).adapter;
    await saveAdapter(subfolder(out, 'target'), target);
    files.push(...ADAPTER_FILES.map((f) => `target/${f}`));

    const train = encodePairs(corpus.targetTrain, tokenizer, settings.maxLength);
    const cat = plugins.get('merger', 'cat') as MergerPlugin;
    const a = settings.adapt;
    const adaptOptions = (ratio: number) => ({
      ratio,
      // Without pruning no importance is needed: magnitude at ratio 0 prunes nothing and skips the input-norm passes.
      metric: ratio === 0 ? 'magnitude' : PUBLISHED_ADAPT_SETTINGS.metric,
      grouping: PUBLISHED_ADAPT_SETTINGS.grouping,
      schedule: 'constant',
      refresh: PUBLISHED_ADAPT_SETTINGS.refresh,
      epochs: a.epochs,
      lr: a.lr,
      epochDecay: a.epochDecay,
      accumulation: a.accumulation,
      batchSize: a.batchSize,
      weightDecay: 0,
    });
    const adaptive = async (stage: DemoStage, ratio: number) =>
      timed(stage, async () => {
        const curve: CurvePoint[] = [];
        let loss = NaN;
        const total = Math.ceil(train.length / a.batchSize / a.accumulation) * a.epochs;
        const report = progress(stage, ratio === 0 ? 'no pruning' : `pruning ${ratio}`);
        const { schedule: _, ...o } = adaptOptions(ratio);
        const result = await adaptiveMerge(backend, model, {
          ...o,
          adapters: [target, ...related],
          train,
          padId: tokenizer.pad,
          plugins,
          seed,
          signal,
          onProgress: (event) => {
            if (event.type === 'step') loss = event.loss;
            if (event.type === 'prune') {
              const size = event.tensors.reduce((s, t) => s + t.size, 0);
              curve.push({ step: event.step, loss, sparsity: event.tensors.reduce((s, t) => s + t.pruned, 0) / Math.max(1, size) });
              report(event.step, total, loss);
            }
          },
        });
        return { merged: result.merged, curve, tensors: result.tensors, trainLoss: result.trainLoss ?? NaN };
      });

    const staticMerge = await cat.merge([target, ...related], {});
    const plain = await adaptive('adapt', 0);
    const pruned = await adaptive('adapt-prune', a.ratio);

    const adapterDir = subfolder(out, DEMO_ADAPTER_DIR);
    await saveAdapter(adapterDir, pruned.merged);
    const provenance = buildAdaptProvenance({
      inputs: [
        ...(await hashFiles(out, 'model', [`${DEMO_MODEL_DIR}/${MODEL_CONFIG_FILE}`, `${DEMO_MODEL_DIR}/${MODEL_WEIGHTS_FILE}`])),
        ...(await hashFiles(
          out,
          'target',
          ADAPTER_FILES.map((f) => `target/${f}`),
        )),
        ...(await hashFiles(
          out,
          'related',
          RELATED_DOMAINS.flatMap((d) => ADAPTER_FILES.map((f) => `related/${d}/${f}`)),
        )),
        ...(await hashFiles(out, 'train', [`data/${TARGET_DOMAIN}-train.jsonl`])),
      ],
      options: adaptOptions(a.ratio),
      seed,
      versions: options.versions ?? {},
      steps: pruned.curve.length,
      trainLoss: pruned.trainLoss,
      valLoss: null,
      tensors: pruned.tensors,
    });
    await adapterDir.write(ADAPT_PROVENANCE_FILE, [jsonBytes(provenance)]);
    files.push(...[...ADAPTER_FILES, ADAPT_PROVENANCE_FILE].map((f) => `${DEMO_ADAPTER_DIR}/${f}`));

    const test = { pairs: corpus.targetTest, examples: encodePairs(corpus.targetTest, tokenizer, settings.maxLength) };
    const methods: readonly [DemoMethod, LoraAdapter | null][] = [
      ['base', null],
      ['target-only', target],
      ['cat-merge', staticMerge],
      ['adaptive', plain.merged],
      ['adaptive+prune', pruned.merged],
    ];
    const rows: DemoRow[] = [];
    const evaluated = progress('evaluate', 'methods');
    await timed('evaluate', async () => {
      for (const [i, [method, adapter]] of methods.entries()) {
        const devices = adapter ? [uploadAdapter(backend, adapter)] : [];
        try {
          const scores = await scoreOnTest(backend, model, test, { adapters: devices, tokenizer, maxNewTokens: settings.maxNewTokens, batchSize: 16, signal });
          rows.push({ method, ...scores, sparsity: adapter ? adapterSparsity(adapter) : null, rank: adapter ? (adapter.modules[0]?.rank ?? 0) : null });
        } finally {
          for (const d of devices) freeAdapter(backend, d);
        }
        evaluated(i + 1, methods.length);
      }
    });

    const samples = (['en', 'ja'] as const).flatMap((language) => {
      const i = corpus.targetTest.findIndex((p) => p.language === language);
      if (i < 0) return [];
      const p = corpus.targetTest[i];
      return [
        {
          language,
          source: p.source,
          reference: p.summary,
          outputs: Object.fromEntries(rows.map((r) => [r.method, r.predictions[i]])) as Record<DemoMethod, string>,
        },
      ];
    });
    const points = (curve: readonly CurvePoint[], y: 'loss' | 'sparsity') => curve.map((c) => [c.step, c[y]] as const);
    const svg = lineChartSvg(`Adaptive merge on the ${TARGET_DOMAIN} target (${settings.name} demo, seed ${seed})`, 'optimizer step', [
      {
        title: 'training loss (nats/token)',
        series: [
          { label: 'adaptive', color: '#1f77b4', points: points(plain.curve, 'loss') },
          { label: `adaptive+prune ${a.ratio}`, color: '#d62728', points: points(pruned.curve, 'loss') },
        ],
      },
      { title: 'sparsity of the factors', series: [{ label: `adaptive+prune ${a.ratio}`, color: '#d62728', points: points(pruned.curve, 'sparsity') }] },
    ]);
    await write(DEMO_PLOT_FILE, new TextEncoder().encode(svg));
    files.push(DEMO_RESULTS_FILE);
    const result: DemoResult = {
      settings: settings.name,
      seed,
      backend: backend.name,
      rows,
      curves: { adaptive: plain.curve, pruned: pruned.curve },
      samples,
      data: {
        pretrainTexts: corpus.pretrain.length,
        relatedPairs: [...corpus.related.values()].reduce((n, p) => n + p.length, 0),
        targetTrain: corpus.targetTrain.length,
        targetTest: corpus.targetTest.length,
      },
      parameters: [...model.weights.values()].reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0),
      cached: { base: cached, related: relatedCached },
      seconds,
      files,
    };
    await out.write(DEMO_RESULTS_FILE, [jsonBytes(result)]);
    return result;
  } finally {
    model.dispose();
  }
}
