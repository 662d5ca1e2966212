import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WasmBackend } from '@lorafuse/backend-wasm';
import { isLoraFuseError, LoraFuseError } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { loadExperimentConfig, type ExperimentConfig, type LoadedConfig } from './config.js';
import { readCorpus, splitCorpus } from './corpus.js';
import { defaultOut, parseExperimentOptions, USAGE, type ExperimentOptions, type Stage } from './options.js';
import { currentProvenance, sameCode } from './provenance.js';
import { writeReport } from './report.js';
import { experimentSettings } from './settings.js';
import { cacheKeys, collectResults, loadBase, loadRelated, log, runTargets, SHARED_SEED, type Context } from './stages.js';

/** The config's targets named by `--target` (all without it); throws `CLI_USAGE` for a name the config lacks. */
function selectedTargets(options: ExperimentOptions, config: ExperimentConfig) {
  const names = options.targets ?? config.targets.map((t) => t.name);
  return names.map((name) => {
    const target = config.targets.find((t) => t.name === name);
    if (!target) throw new LoraFuseError('CLI_USAGE', `Unknown target ${name}; the config has ${config.targets.map((t) => t.name).join(', ')}.`);
    return target;
  });
}

/** An opened run of the harness: its config, where it reads and writes, and the stages' context (whose backend the caller disposes). */
export interface OpenedRun {
  readonly loaded: LoadedConfig;
  readonly dataDir: string;
  readonly out: string;
  readonly ctx: Context;
}

/** Reads the config and the corpus `options` name, splits it, and creates the wasm backend and the stage cache. */
export async function openRun(options: ExperimentOptions, root: string): Promise<OpenedRun> {
  const loaded = await loadExperimentConfig(options.config);
  const { config } = loaded;
  const settings = experimentSettings(config, options.quick);
  const targets = selectedTargets(options, config);
  const dataDir = options.data ?? config.data;
  const out = options.out ?? defaultOut(options, config.name, root);
  const data = splitCorpus(await readCorpus(dataDir, config.languages), settings, SHARED_SEED);
  await mkdir(options.cache, { recursive: true });
  const backend = await WasmBackend.create({ threads: options.threads, simd: options.simd });
  const ctx: Context = {
    settings,
    data,
    backend,
    cache: (name) => nodeFolder(join(options.cache, name)),
    keys: await cacheKeys(settings, data),
    targets,
    methods: config.methods,
    seeds: options.seeds ?? config.seeds,
    provenance: currentProvenance(root, backend, [out, options.cache]),
  };
  return { loaded, dataDir, out, ctx };
}

/** Runs the stages `options` asks for, then (unless another stage was asked alone) writes the report. */
async function run(options: ExperimentOptions, argv: readonly string[], root: string): Promise<void> {
  const { loaded, dataDir, out, ctx } = await openRun(options, root);
  const { config } = loaded;
  const { settings, data, backend } = ctx;
  try {
    log(`config ${config.name} (${loaded.path}), ${settings.name} scale, data ${dataDir}, cache ${options.cache}, out ${out}, ${backend.description}`);
    const runs = (stage: Stage) => options.stage === undefined || options.stage === stage;
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
      const { results, stages } = await collectResults(ctx);
      const other = stages.filter((s) => s.provenance === null || !sameCode(s.provenance, ctx.provenance));
      if (other.length > 0)
        log(`warning: ${other.length} of ${stages.length} cached stages were computed by other code or a runtime (see Provenance in results.md)`);
      await writeReport({ out, root, settings, data, results, argv, config: loaded, dataDir, provenance: ctx.provenance, stages });
      log(`report written to ${out}`);
    }
  } finally {
    backend.dispose();
  }
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
  const started = performance.now();
  try {
    await run(options, argv, root);
  } catch (error) {
    if (!isLoraFuseError(error)) throw error;
    console.error(`${error.code}: ${error.message}`);
    return 1;
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}
