// The built-in demo (@lorafuse/demo) in the worker: a deterministic
// bilingual corpus, a tiny base model pretrained from scratch, related
// LoRAs, then the methods compared. The base model and the related LoRAs
// are cached in OPFS by the demo's content keys, so a reload after a cancel
// resumes after the stages already done.
import { FULL_DEMO_SETTINGS, QUICK_DEMO_SETTINGS, runDemo, DEMO_ADAPTER_DIR, type DemoProgress } from '@lorafuse/demo';
import { memoryFolder, opfsFolder, type Backend, type WritableFolder } from '@lorafuse/core';
import type { DemoRunOptions, RunProgress, RunResult } from './api.js';

const CACHE_DIR = 'lorafuse-example/demo-cache';

/** A folder in OPFS opened on first use (the demo asks for its cache folders synchronously). */
function lazyOpfsFolder(path: string): WritableFolder {
  let opened: Promise<WritableFolder> | undefined;
  const folder = () => (opened ??= opfsFolder(path));
  return {
    name: `opfs:${path}`,
    open: async (file) => (await folder()).open(file),
    exists: async (file) => (await folder()).exists(file),
    write: async (file, chunks) => (await folder()).write(file, chunks),
  };
}

const percent = (done: number, total: number) => `${done}/${total}`;

/** Runs the demo on `backend`, reporting its stages and the adaptive merge's steps. */
export async function runBuiltInDemo(
  backend: Backend,
  options: DemoRunOptions,
  signal: AbortSignal,
  progress: (value: RunProgress) => void,
  useCache: boolean,
): Promise<RunResult> {
  const out = memoryFolder();
  let started = false;
  const onProgress = (p: DemoProgress) => {
    if (p.stage === 'adapt-prune' && p.loss !== undefined) {
      if (!started) progress({ kind: 'start', totalSteps: p.total, firstStep: 0, device: backend.description });
      started = true;
      progress({ kind: 'step', step: p.done, epoch: 0, loss: p.loss, sparsity: null });
    } else progress({ kind: 'stage', text: `${p.stage} ${p.label}: ${percent(p.done, p.total)}${p.loss === undefined ? '' : `, loss ${p.loss.toFixed(4)}`}` });
  };
  const result = await runDemo({
    backend,
    out,
    settings: options.quick ? QUICK_DEMO_SETTINGS : FULL_DEMO_SETTINGS,
    seed: options.seed,
    cache: useCache ? (key) => lazyOpfsFolder(`${CACHE_DIR}/${key}`) : undefined,
    signal,
    onProgress,
  });
  const prefix = `${DEMO_ADAPTER_DIR}/`;
  const files = Object.fromEntries(
    [...out.files]
      .filter(([path]) => path.startsWith(prefix) && !path.slice(prefix.length).includes('/'))
      .map(([path, bytes]) => [path.slice(prefix.length), bytes]),
  );
  return {
    files,
    steps: result.curves.pruned.length,
    backend: backend.name,
    device: backend.description,
    table: result.rows.map(({ method, sparsity, rank, loss, rougeL, rougeLEn, rougeLJa }) => ({
      name: method,
      cells: { loss, rougeL, rougeLEn, rougeLJa, sparsity, rank },
    })),
    curve: result.curves.pruned,
  };
}
