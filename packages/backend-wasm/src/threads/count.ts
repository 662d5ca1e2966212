import { LoraFuseError } from '@lorafuse/core';
import { wasmFeatures } from '../features.js';
import { MAX_DEFAULT_THREADS, MAX_THREADS, availableCores, workerHost } from './host.js';
import type { WorkerHost } from './worker-source.js';

/** How many threads a backend runs its kernels on, and where its workers come from. */
export interface ThreadPlan {
  readonly threads: number;
  /** Set when `threads > 1`. */
  readonly host?: WorkerHost;
}

/**
 * The thread count for the `threads` option: the requested count (an
 * integer from 1 to {@link MAX_THREADS}), or by default the available cores
 * up to {@link MAX_DEFAULT_THREADS} where shared memory and workers exist,
 * else 1. Asking for more than one thread where shared memory is missing
 * (a page that is not cross-origin isolated) throws `BACKEND_INIT_FAILED`.
 */
export async function planThreads(requested: number | undefined): Promise<ThreadPlan> {
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1 && requested <= MAX_THREADS)) {
    throw new LoraFuseError('INVALID_OPTION', `threads must be an integer from 1 to ${MAX_THREADS}, got ${String(requested)}.`, {
      details: { option: 'threads', value: requested },
    });
  }
  const host = wasmFeatures().threads ? workerHost() : undefined;
  const threads = requested ?? (host ? Math.max(1, Math.min(await availableCores(), MAX_DEFAULT_THREADS)) : 1);
  if (threads === 1) return { threads };
  if (!host) {
    throw new LoraFuseError(
      'BACKEND_INIT_FAILED',
      `The wasm backend cannot run ${threads} threads here: it needs SharedArrayBuffer, WebAssembly threads and workers. Browsers allow shared memory only on cross-origin isolated pages (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp); use threads: 1 or leave it unset.`,
      { details: { option: 'threads', value: threads } },
    );
  }
  return { threads, host };
}
