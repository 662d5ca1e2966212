import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { wasmBackend } from '@lorafuse/backend-wasm';
import {
  ADAPTER_CONFIG_FILE,
  ByteTokenizer,
  isLoraFuseError,
  LoraFuseError,
  MODEL_CONFIG_FILE,
  parseJsonBytes,
  PluginRegistry,
  readFile,
  type Backend,
  type CausalLM,
  type LoraAdapter,
  type WritableFolder,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { registerBuiltinPlugins } from '@lorafuse/plugins';
import { jsonBytes, sha256Hex } from '../packages/demo/src/files.js';
import { baseModel, trainedLora } from '../packages/demo/src/stages.js';
import { readCorpus, splitCorpus, type ExperimentData } from './corpus.js';
import { encodePages } from './evaluate.js';
import { METHODS, runTarget, type MethodResult } from './methods.js';
import { parseExperimentOptions, USAGE, type ExperimentOptions, type Stage } from './options.js';
import { writeReport } from './report.js';
import { FULL_EXPERIMENT_SETTINGS, QUICK_EXPERIMENT_SETTINGS, type ExperimentSettings } from './settings.js';

// The base model and the related LoRAs are shared by every seed; their own seed is fixed.
const SHARED_SEED = 0;

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

/** A progress callback that logs every `every`-th training step with its loss. */
function stepLogger(label: string, every: number) {
  const started = performance.now();
  return (done: number, total: number, loss: number) => {
    if (done % every === 0 || done === total)
      log(`  ${label} step ${done}/${total} loss ${loss.toFixed(3)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  };
}

const keyOf = async (what: unknown) => (await sha256Hex(jsonBytes(what))).slice(0, 16);

/** The context shared by the stages: settings, data, backend, cache keys. */
interface Context {
  readonly options: ExperimentOptions;
  readonly settings: ExperimentSettings;
  readonly data: ExperimentData;
  readonly backend: Backend;
  readonly cache: (name: string) => WritableFolder;
  readonly baseKey: string;
}

async function loadBase(ctx: Context, train: boolean): Promise<CausalLM> {
  const folder = ctx.cache(`base-${ctx.baseKey}`);
  if (!train && !(await folder.exists(MODEL_CONFIG_FILE)))
    throw new LoraFuseError('CLI_USAGE', `The base model is not cached in ${folder.name}; run the pretrain stage first.`);
  const started = performance.now();
  const { model, cached } = await baseModel(ctx.backend, ctx.settings, ctx.data.pretrain, new ByteTokenizer(), SHARED_SEED, folder, stepLogger('pretrain', 20));
  const parameters = [...model.weights.values()].reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0);
  log(
    `base model (${parameters} parameters, ${ctx.data.pretrain.length} texts): ${cached ? 'cached' : `pretrained in ${((performance.now() - started) / 1000).toFixed(0)} s`}`,
  );
  return model;
}

async function loadRelated(ctx: Context, model: CausalLM, train: boolean): Promise<LoraAdapter[]> {
  const tokenizer = new ByteTokenizer();
  const adapters: LoraAdapter[] = [];
  for (const [i, [domain, pages]] of [...ctx.data.related].entries()) {
    const folder = ctx.cache(
      `related-${domain}-${await keyOf({ base: ctx.baseKey, domain, ids: pages.map((p) => p.id), lora: ctx.settings.lora, related: ctx.settings.related })}`,
    );
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
    log(`related LoRA ${domain} (${pages.length} pairs): ${cached ? 'cached' : `trained in ${((performance.now() - started) / 1000).toFixed(0)} s`}`);
    adapters.push(adapter);
  }
  return adapters;
}

async function runTargets(ctx: Context, model: CausalLM, related: readonly LoraAdapter[]): Promise<void> {
  const tokenizer = new ByteTokenizer();
  const plugins = registerBuiltinPlugins(new PluginRegistry(), { random: { seed: SHARED_SEED } });
  for (const target of selectedTargets(ctx)) {
    const splits = ctx.data.targets.get(target.name)!;
    for (const seed of ctx.options.seeds) {
      const started = performance.now();
      log(`${target.name} seed ${seed} (${splits.train.length}/${splits.dev.length}/${splits.test.length} pages)`);
      await runTarget({
        backend: ctx.backend,
        model,
        settings: ctx.settings,
        target,
        splits,
        related,
        seed,
        tokenizer,
        plugins,
        cache: ctx.cache(runFolder(ctx, target.name, seed)),
        log,
      });
      log(`${target.name} seed ${seed} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
}

const runFolder = (ctx: Context, target: string, seed: number) => `runs-${ctx.baseKey}/${target}/seed-${seed}`;

function selectedTargets(ctx: Context) {
  const names = ctx.options.targets ?? ctx.settings.targets.map((t) => t.name);
  return names.map((name) => {
    const target = ctx.settings.targets.find((t) => t.name === name);
    if (!target) throw new LoraFuseError('CLI_USAGE', `Unknown target ${name}; use ${ctx.settings.targets.map((t) => t.name).join(' or ')}.`);
    return target;
  });
}

async function collectResults(ctx: Context): Promise<MethodResult[]> {
  const results: MethodResult[] = [];
  for (const target of selectedTargets(ctx)) {
    for (const seed of ctx.options.seeds) {
      const folder = ctx.cache(runFolder(ctx, target.name, seed));
      for (const method of METHODS) {
        if (!(await folder.exists(`${method}.json`))) continue;
        results.push(parseJsonBytes(await readFile(folder, `${method}.json`), `${method}.json`) as MethodResult);
      }
    }
  }
  return results;
}

/**
 * The harness's entry point (called by `experiments/run.mjs` with the
 * arguments after `--` and the repository root); returns the exit code.
 */
export async function main(argv: readonly string[], root: string): Promise<number> {
  let options: ExperimentOptions;
  try {
    options = parseExperimentOptions(argv, root);
  } catch (error) {
    console.error(isLoraFuseError(error) ? error.message : error);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const settings = options.quick ? QUICK_EXPERIMENT_SETTINGS : FULL_EXPERIMENT_SETTINGS;
  const started = performance.now();
  const data = splitCorpus(await readCorpus(options.data), settings, SHARED_SEED);
  const baseKey = await keyOf({ format: 'lorafuse-experiment/1', settings, texts: await sha256Hex(jsonBytes(data.pretrain)) });
  await mkdir(options.cache, { recursive: true });
  const backend = await wasmBackend({ threads: options.threads }).create();
  const ctx: Context = { options, settings, data, backend, baseKey, cache: (name) => nodeFolder(join(options.cache, name)) };
  log(`${settings.name} settings, data ${options.data}, cache ${options.cache}, out ${options.out}`);
  const runs = (stage: Stage) => options.stage === undefined || options.stage === stage;
  try {
    if (runs('pretrain') || runs('related') || runs('targets')) {
      const model = await loadBase(ctx, runs('pretrain'));
      try {
        if (runs('related') || runs('targets')) {
          const related = await loadRelated(ctx, model, runs('related'));
          if (runs('targets')) await runTargets(ctx, model, related);
        }
      } finally {
        model.dispose();
      }
    }
    if (runs('report')) {
      const results = await collectResults(ctx);
      await writeReport(options, settings, data, results, argv);
      log(`report written to ${options.out}`);
    }
  } catch (error) {
    if (!isLoraFuseError(error)) throw error;
    console.error(`${error.code}: ${error.message}`);
    return 1;
  } finally {
    backend.dispose();
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}
