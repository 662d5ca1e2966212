import type { WasmBackend } from '@lorafuse/backend-wasm';
import {
  ADAPTER_CONFIG_FILE,
  ByteTokenizer,
  LoraFuseError,
  MODEL_CONFIG_FILE,
  parseJsonBytes,
  PluginRegistry,
  readFile,
  type CausalLM,
  type LoraAdapter,
  type WritableFolder,
} from '@lorafuse/core';
import { registerBuiltinPlugins } from '@lorafuse/plugins';
import { jsonBytes, sha256Hex } from '../packages/demo/src/files.js';
import { baseModel, trainedLora } from '../packages/demo/src/stages.js';
import type { TargetSpec } from './config.js';
import type { ExperimentData } from './corpus.js';
import { encodePages } from './evaluate.js';
import { runTarget, type Method, type MethodResult } from './methods.js';
import { readProvenance, writeProvenance, type Provenance, type StageProvenance } from './provenance.js';
import type { ExperimentSettings } from './settings.js';

// The base model and the related LoRAs are shared by every seed; their own seed is fixed.
export const SHARED_SEED = 0;

/** Logs a line with the time of day. */
export const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

/** A progress callback that logs every `every`-th training step with its loss. */
function stepLogger(label: string, every: number) {
  const started = performance.now();
  return (done: number, total: number, loss: number) => {
    if (done % every === 0 || done === total)
      log(`  ${label} step ${done}/${total} loss ${loss.toFixed(3)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  };
}

const keyOf = async (what: unknown) => (await sha256Hex(jsonBytes(what))).slice(0, 16);

/**
 * Cache keys: each hashes exactly what its stage's output depends on, so a
 * changed setting retrains only what it affects (a new method list or ratio
 * grid keeps the base model and the related LoRAs).
 */
export interface CacheKeys {
  readonly base: string;
  readonly related: ReadonlyMap<string, string>;
  /** Per target: the base, the related LoRAs, every setting and the target's pages. */
  readonly runs: ReadonlyMap<string, string>;
}

/** The cache keys of a run of `settings` on `data`. */
export async function cacheKeys(settings: ExperimentSettings, data: ExperimentData): Promise<CacheKeys> {
  const texts = await sha256Hex(jsonBytes(data.pretrain));
  // baseModel() reads the model config, the context length and the pretraining stage, and nothing else of the settings.
  const base = await keyOf({ format: 'lorafuse-experiment/2', model: settings.model, maxLength: settings.maxLength, pretrain: settings.pretrain, texts });
  const related = new Map<string, string>();
  for (const [domain, pages] of data.related)
    related.set(domain, await keyOf({ base, domain, ids: pages.map((p) => p.id), lora: settings.lora, related: settings.related }));
  const runs = new Map<string, string>();
  for (const [target, splits] of data.targets) {
    const pages = { train: splits.train.map((p) => p.id), dev: splits.dev.map((p) => p.id), test: splits.test.map((p) => p.id) };
    runs.set(target, await keyOf({ base, related: [...related.values()], settings, target, pages }));
  }
  return { base, related, runs };
}

/** What the stages share: settings, data, backend, cache, the methods and seeds to run, and this process's provenance. */
export interface Context {
  readonly settings: ExperimentSettings;
  readonly data: ExperimentData;
  readonly backend: WasmBackend;
  readonly cache: (name: string) => WritableFolder;
  readonly keys: CacheKeys;
  readonly targets: readonly TargetSpec[];
  readonly methods: readonly Method[];
  readonly seeds: readonly number[];
  readonly provenance: Provenance;
}

/** The cache folder of the pretrained base model: a Hugging Face model folder (`config.json`, `model.safetensors`) for the byte-level tokenizer. */
export const baseFolder = (ctx: Context) => ctx.cache(`base-${ctx.keys.base}`);
const relatedFolder = (ctx: Context, domain: string) => ctx.cache(`related-${domain}-${ctx.keys.related.get(domain)}`);
const runFolder = (ctx: Context, target: string, seed: number) => ctx.cache(`runs-${ctx.keys.runs.get(target)}/${target}/seed-${seed}`);

/** The pretrained base model: from the cache, or (when `train`) pretrained now; throws `CLI_USAGE` when it must come from the cache and is not there. */
export async function loadBase(ctx: Context, train: boolean): Promise<CausalLM> {
  const folder = baseFolder(ctx);
  if (!train && !(await folder.exists(MODEL_CONFIG_FILE)))
    throw new LoraFuseError('CLI_USAGE', `The base model is not cached in ${folder.name}; run the pretrain stage first.`);
  const started = performance.now();
  const { model, cached } = await baseModel(ctx.backend, ctx.settings, ctx.data.pretrain, new ByteTokenizer(), SHARED_SEED, folder, stepLogger('pretrain', 20));
  if (!cached) await writeProvenance(folder, 'model', ctx.provenance);
  const parameters = [...model.weights.values()].reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0);
  log(
    `base model (${parameters} parameters, ${ctx.data.pretrain.length} texts): ${cached ? 'cached' : `pretrained in ${((performance.now() - started) / 1000).toFixed(0)} s`}`,
  );
  return model;
}

/** The related LoRAs, in the settings' domain order: from the cache, or (when `train`) trained now. */
export async function loadRelated(ctx: Context, model: CausalLM, train: boolean): Promise<LoraAdapter[]> {
  const tokenizer = new ByteTokenizer();
  const adapters: LoraAdapter[] = [];
  for (const [i, [domain, pages]] of [...ctx.data.related].entries()) {
    const folder = relatedFolder(ctx, domain);
    if (!train && !(await folder.exists(ADAPTER_CONFIG_FILE)))
      throw new LoraFuseError('CLI_USAGE', `The ${domain} LoRA is not cached in ${folder.name}; run the related stage first.`);
    const started = performance.now();
    const examples = encodePages(pages, tokenizer, ctx.settings.maxLength);
    const { adapter, cached } = await trainedLora(
      ctx.backend,
      model,
      ctx.settings,
      ctx.settings.related,
      { examples, padId: tokenizer.pad, seed: SHARED_SEED + i + 1, cache: folder },
      stepLogger(domain, 20),
    );
    if (!cached) await writeProvenance(folder, 'adapter', ctx.provenance);
    log(`related LoRA ${domain} (${pages.length} pairs): ${cached ? 'cached' : `trained in ${((performance.now() - started) / 1000).toFixed(0)} s`}`);
    adapters.push(adapter);
  }
  return adapters;
}

/** The outputs of one target-and-seed run folder: the target LoRA and each method's result. */
const runOutputs = (ctx: Context) => [
  { name: 'target-lora', file: `target-lora/${ADAPTER_CONFIG_FILE}` },
  ...ctx.methods.map((m) => ({ name: m, file: `${m}.json` })),
];

/** Runs the methods on every target and seed, recording the provenance of what this process computes. */
export async function runTargets(ctx: Context, model: CausalLM, related: readonly LoraAdapter[]): Promise<void> {
  const tokenizer = new ByteTokenizer();
  const plugins = registerBuiltinPlugins(new PluginRegistry(), { random: { seed: SHARED_SEED } });
  for (const target of ctx.targets) {
    const splits = ctx.data.targets.get(target.name)!;
    for (const seed of ctx.seeds) {
      const started = performance.now();
      const cache = runFolder(ctx, target.name, seed);
      const before = new Map<string, boolean>();
      for (const { name, file } of runOutputs(ctx)) before.set(name, await cache.exists(file));
      log(`${target.name} seed ${seed} (${splits.train.length}/${splits.dev.length}/${splits.test.length} pages)`);
      await runTarget({
        backend: ctx.backend,
        model,
        settings: ctx.settings,
        target,
        splits,
        related,
        seed,
        methods: ctx.methods,
        tokenizer,
        plugins,
        cache,
        log,
      });
      for (const { name, file } of runOutputs(ctx)) if (!before.get(name) && (await cache.exists(file))) await writeProvenance(cache, name, ctx.provenance);
      log(`${target.name} seed ${seed} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
}

/** The cached method results of the selected targets and seeds, and the provenance of every stage they rest on. */
export async function collectResults(ctx: Context): Promise<{ results: MethodResult[]; stages: StageProvenance[] }> {
  const results: MethodResult[] = [];
  const stages: StageProvenance[] = [{ stage: 'base', provenance: await readProvenance(baseFolder(ctx), 'model') }];
  for (const domain of ctx.data.related.keys())
    stages.push({ stage: `related/${domain}`, provenance: await readProvenance(relatedFolder(ctx, domain), 'adapter') });
  for (const target of ctx.targets) {
    for (const seed of ctx.seeds) {
      const folder = runFolder(ctx, target.name, seed);
      for (const { name, file } of runOutputs(ctx)) {
        if (!(await folder.exists(file))) continue;
        stages.push({ stage: `${target.name}/seed-${seed}/${name}`, provenance: await readProvenance(folder, name) });
        if (name !== 'target-lora') results.push(parseJsonBytes(await readFile(folder, file), file) as MethodResult);
      }
    }
  }
  return { results, stages };
}
