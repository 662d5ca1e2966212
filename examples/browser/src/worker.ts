// The worker: everything heavy runs here, off the page's thread. It serves
// the typed API of api.ts with serveWorker; cancel reaches adapt() through
// the call's AbortSignal, and the adapter files are moved to the page.
import {
  LoraFuseError,
  PluginRegistry,
  Runtime,
  buffersOf,
  serveWorker,
  withTransfer,
  type Backend,
  type MessageEndpoint,
  type TrainCheckpoint,
  type WorkerCallContext,
} from '@lorafuse/core';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { webgpuBackend } from '@lorafuse/backend-webgpu';
import { registerBuiltinPlugins } from '@lorafuse/plugins';
import type { Api, BackendOptions, RunProgress, RunResult } from './api.js';
import { runBuiltInDemo } from './demo.js';
import type { DownloadControl } from './hub.js';
import { runPipeline } from './pipeline.js';
import { discardRun, pendingRun, reopenRun, storeRun, type StoredRun } from './run-store.js';

/** Runs `work` on the backend `options` name, and moves the result's files to the page. */
async function onBackend(
  options: BackendOptions,
  seed: number,
  progress: (value: RunProgress) => void,
  work: (backend: Backend, plugins: PluginRegistry) => Promise<RunResult>,
) {
  const plugins = registerBuiltinPlugins(new PluginRegistry(), { random: { seed } });
  const runtime = new Runtime({ backends: [webgpuBackend(), wasmBackend({ simd: options.simd, threads: options.threads })], plugins });
  try {
    progress({ kind: 'stage', text: `starting the ${options.backend} backend` });
    const result = await work(await runtime.useBackend(options.backend), plugins);
    return withTransfer(result, buffersOf(result.files));
  } finally {
    await runtime.dispose();
  }
}

/** Hub downloads cancelled with the call, their progress shown as its stage. */
const downloads = ({ signal, progress }: WorkerCallContext<RunProgress>): DownloadControl => ({
  signal,
  report: (text) => progress({ kind: 'stage', text }),
});

function execute(run: StoredRun, resume: TrainCheckpoint | undefined, { signal, progress }: WorkerCallContext<RunProgress>) {
  return onBackend(run.options, run.options.seed, progress, async (backend, plugins) => {
    const result = await runPipeline(backend, plugins, run.inputs, run.options, { signal, progress, checkpoint: run.checkpoint, resume });
    await discardRun();
    return result;
  });
}

serveWorker<Api>(self as unknown as MessageEndpoint, {
  async environment() {
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      webgpu: 'gpu' in navigator,
      opfs: typeof navigator.storage?.getDirectory === 'function',
    };
  },
  async run({ inputs, options }, context) {
    context.progress({ kind: 'stage', text: 'saving the inputs for resume' });
    return execute(await storeRun(inputs, options, downloads(context)), undefined, context);
  },
  demo(options, { signal, progress }) {
    const opfs = typeof navigator.storage?.getDirectory === 'function';
    return onBackend(options, options.seed, progress, (backend) => runBuiltInDemo(backend, options, signal, progress, opfs));
  },
  async resume(_, context) {
    const run = await reopenRun(downloads(context));
    if (!run) throw new LoraFuseError('FILE_NOT_FOUND', 'There is no saved run to resume.');
    return execute(run, run.resume, context);
  },
  pending: pendingRun,
  async discard() {
    await discardRun();
    return null;
  },
});
