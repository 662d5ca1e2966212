import { nodeBuiltin } from './host.js';
import { workerSource, type WorkerHost } from './worker-source.js';

/** What the pool needs of a worker, in Node and in browsers alike. */
export interface ThreadWorker {
  /** Sends the start message (structured clone: a `WebAssembly.Module`, a shared memory, a `SharedArrayBuffer`). */
  post(message: unknown): void;
  /** Resolves with the worker's first message; rejects when it fails to load or exits first. */
  firstMessage(): Promise<unknown>;
  /** Stops the worker at once, even while it waits. */
  terminate(): Promise<void>;
}

/** Starts one kernel worker in Node (`worker_threads`, evaluated source) or a browser (a Blob URL of the source). */
export async function spawnWorker(host: WorkerHost): Promise<ThreadWorker> {
  return host === 'node' ? spawnNodeWorker() : spawnWebWorker();
}

async function spawnNodeWorker(): Promise<ThreadWorker> {
  const { Worker: NodeWorker } = await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  const worker = new NodeWorker(workerSource('node'), { eval: true });
  return {
    post: (message) => worker.postMessage(message),
    firstMessage: () =>
      new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the worker exited with code ${code} before it was ready`)));
      }).finally(() => {
        // A ready pool must not keep the process alive: a script that ends
        // without disposing its backend still exits. Until then the worker
        // keeps it alive, as Deno needs to deliver the ready message at all.
        worker.unref();
      }),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

async function spawnWebWorker(): Promise<ThreadWorker> {
  const url = URL.createObjectURL(new Blob([workerSource('browser')], { type: 'text/javascript' }));
  let worker: Worker;
  try {
    worker = new Worker(url);
  } catch (error) {
    URL.revokeObjectURL(url);
    throw error;
  }
  return {
    post: (message) => worker.postMessage(message),
    firstMessage: () =>
      new Promise((resolve, reject) => {
        // The script has loaded once the worker answers or fails: the URL is no longer needed.
        worker.onmessage = (event) => {
          URL.revokeObjectURL(url);
          resolve(event.data);
        };
        worker.onerror = (event) => {
          URL.revokeObjectURL(url);
          reject(new Error(event.message || 'the worker failed to load (a Content-Security-Policy may forbid blob: workers)'));
        };
      }),
    terminate: async () => worker.terminate(),
  };
}
