import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  CausalLM,
  downloadAdapter,
  encodeRecord,
  freeAdapter,
  initLoraAdapter,
  initModelCheckpoint,
  loadAdapter,
  MODEL_CONFIG_FILE,
  openModelFolder,
  parseModelConfig,
  saveAdapter,
  saveModelFolder,
  train,
  uploadAdapter,
  type Backend,
  type Example,
  type LoraAdapter,
  type Tensor,
  type Tokenizer,
  type TrainOptions,
  type WritableFolder,
} from '@lorafuse/core';
import type { DemoPair } from './domains.js';
import type { DemoSettings, StageSettings } from './settings.js';

/** Encodes pairs as `{source}\nTL;DR: {summary}<eos>` with the loss on the summary and eos. */
export function encodePairs(pairs: readonly DemoPair[], tokenizer: Tokenizer, maxLength: number): Example[] {
  return pairs.map((p) => encodeRecord({ kind: 'pair', source: p.source, summary: p.summary }, tokenizer, { maxLength, appendEos: true }));
}

/** Runs a {@link train} stage with a cosine schedule (10 % warm-up), reporting each step. */
async function runTraining(
  backend: Backend,
  model: CausalLM,
  stage: StageSettings,
  run: Pick<TrainOptions, 'adapters' | 'params' | 'padId' | 'seed' | 'signal'> & { examples: readonly Example[] },
  onStep: (done: number, total: number, loss: number) => void,
): Promise<void> {
  const total = Math.ceil(run.examples.length / stage.batchSize) * stage.epochs;
  const schedule = { kind: 'cosine' as const, lr: stage.lr, warmupSteps: Math.ceil(total / 10) };
  const events = train(backend, model, {
    adapters: run.adapters,
    params: run.params,
    train: run.examples,
    padId: run.padId,
    batchSize: stage.batchSize,
    epochs: stage.epochs,
    schedule,
    seed: run.seed,
    signal: run.signal,
  });
  for await (const event of events) if (event.type === 'step') onStep(event.step, total, event.loss);
}

/**
 * The base model: loaded from `cache` when it holds one (`config.json`
 * marks a complete folder), else initialised from the seed and pretrained on
 * the related domains' texts (every f32 weight trained), then saved to
 * `cache`. Returns the model on `backend` and whether it came from the cache.
 */
export async function baseModel(
  backend: Backend,
  settings: DemoSettings,
  texts: readonly string[],
  tokenizer: Tokenizer,
  seed: number,
  cache: WritableFolder | undefined,
  onStep: (done: number, total: number, loss: number) => void,
  signal?: AbortSignal,
): Promise<{ model: CausalLM; cached: boolean }> {
  if (cache && (await cache.exists(MODEL_CONFIG_FILE))) return { model: await CausalLM.load(backend, await openModelFolder(cache, { signal })), cached: true };
  const config = parseModelConfig(settings.model);
  const model = await CausalLM.load(backend, await initModelCheckpoint(config, { seed }));
  try {
    const examples = texts.map((text) => encodeRecord({ kind: 'text', text }, tokenizer, { maxLength: settings.maxLength }));
    const params = [...model.weights.values()];
    await runTraining(backend, model, settings.pretrain, { adapters: [], params, examples, padId: tokenizer.pad, seed, signal }, onStep);
    if (cache) await saveModelFolder(cache, config, await downloadWeights(backend, model));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, cached: false };
}

/** The model's weights read back from the device, by Hugging Face name. */
export async function downloadWeights(backend: Backend, model: CausalLM): Promise<Map<string, Tensor>> {
  const weights = new Map<string, Tensor>();
  for (const [name, t] of model.weights) weights.set(name, await backend.read(t));
  return weights;
}

/**
 * A LoRA trained on `examples` (A from PEFT's Kaiming-uniform with `seed`,
 * B zero), or the one `cache` holds from an earlier run with the same
 * inputs; a fresh one is saved to `cache`.
 */
export async function trainedLora(
  backend: Backend,
  model: CausalLM,
  settings: DemoSettings,
  stage: StageSettings,
  run: { examples: readonly Example[]; padId: number; seed: number; cache?: WritableFolder; signal?: AbortSignal },
  onStep: (done: number, total: number, loss: number) => void,
): Promise<{ adapter: LoraAdapter; cached: boolean }> {
  const { cache } = run;
  if (cache && (await cache.exists(ADAPTER_CONFIG_FILE)) && (await cache.exists(ADAPTER_WEIGHTS_FILE)))
    return { adapter: await loadAdapter(cache), cached: true };
  const host = initLoraAdapter(model.weights, { r: settings.lora.r, alpha: settings.lora.alpha, targets: settings.lora.targets, seed: run.seed });
  const device = uploadAdapter(backend, host);
  try {
    await runTraining(backend, model, stage, { adapters: [device], examples: run.examples, padId: run.padId, seed: run.seed, signal: run.signal }, onStep);
    const adapter = await downloadAdapter(backend, device, host.config);
    if (cache) await saveAdapter(cache, adapter);
    return { adapter, cached: false };
  } finally {
    freeAdapter(backend, device);
  }
}
