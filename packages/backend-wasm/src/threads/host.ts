import type { WorkerHost } from './worker-source.js';

/** The parts of Node's `process` this package reads; absent in browsers. */
interface NodeProcess {
  readonly versions?: { readonly node?: string };
  getBuiltinModule?(id: string): unknown;
}

const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

/** The most threads the default picks: beyond this the kernels are limited by memory bandwidth, and a tab should leave cores to the page. */
export const MAX_DEFAULT_THREADS = 8;

/** The most threads an explicit `threads` option may ask for. */
export const MAX_THREADS = 64;

/** `node` under Node (worker_threads), `browser` where Web Workers exist, otherwise undefined. */
export function workerHost(): WorkerHost | undefined {
  if (typeof nodeProcess()?.versions?.node === 'string') return 'node';
  return typeof Worker === 'function' ? 'browser' : undefined;
}

/**
 * A Node built-in module, loaded without an import statement a bundler
 * could follow: `process.getBuiltinModule` (Node ≥ 20.16), else a dynamic
 * import of a specifier held in a variable.
 */
export async function nodeBuiltin<T>(name: string): Promise<T> {
  const builtin = nodeProcess()?.getBuiltinModule?.(name);
  if (builtin) return builtin as T;
  const specifier = name;
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as T;
}

/** Cores the default thread count is based on: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers. */
export async function availableCores(): Promise<number> {
  if (workerHost() === 'node') return (await nodeBuiltin<typeof import('node:os')>('node:os')).availableParallelism();
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/**
 * Whether this thread may block in `Atomics.wait`: Node's main thread and
 * workers may; a browser window's main thread may not (it throws).
 */
export function canBlock(): boolean {
  try {
    // The word is 0, so this returns "not-equal" at once where waiting is allowed.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
