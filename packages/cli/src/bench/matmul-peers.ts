/// <reference types="@webgpu/types" />
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { MatmulImpl, PreparedMatmul } from './matmul-impl.js';

/** A peer implementation loaded on demand from an optional (dev) package. */
export interface MatmulPeer {
  /** The `impl` of its JSON lines. */
  readonly impl: string;
  /** The packages it needs, named when they are missing. */
  readonly packages: readonly string[];
  /**
   * Imports the packages and starts the peer on up to `threads` threads (its
   * `threads` says how many it got); throws when they are not installed or
   * it cannot run here.
   */
  load(threads: number): Promise<MatmulImpl>;
}

// Specifiers held in variables: the published CLI does not depend on the
// peers, and bundlers must leave these imports to run time.
const TFJS_CORE = '@tensorflow/tfjs-core';
const TFJS_WASM = '@tensorflow/tfjs-backend-wasm';
const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';
const JAX = '@jax-js/jax';
const DAWN = 'webgpu';

/** A module imported at run time, typed loosely: its types are not available to the published build. */
// biome-ignore lint/suspicious/noExplicitAny: the peers' modules are untyped here by design (see above).
type LooseModule = Record<string, any>;

const importOptional = (specifier: string) => import(/* @vite-ignore */ specifier) as Promise<LooseModule>;

let dawnGpu: GPU | undefined;

/**
 * The one `GPU` object both our backend and tfjs-webgpu request their
 * adapter from, so that they run on the same one: `navigator.gpu` where it
 * exists, else a Dawn instance installed as `navigator.gpu` (tfjs-webgpu only
 * looks there). The module keeps it alive: Dawn aborts when its instance is
 * collected before the devices made from it.
 */
export async function sharedGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const dawn = await importOptional(DAWN);
  for (const [name, value] of Object.entries(dawn.globals as Record<string, unknown>)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  dawnGpu = (dawn.create as (options: string[]) => GPU)([]);
  if (nav) Object.defineProperty(nav, 'gpu', { value: dawnGpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu }, writable: true, configurable: true });
  return dawnGpu;
}

/** A tfjs tensor, as far as the bench uses it. */
interface TfTensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}

async function tfjsImpl(tf: LooseModule, backend: string, impl: string, threads: number): Promise<MatmulImpl> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs could not start its ${backend} backend`);
  await tf.ready();
  return {
    impl,
    backend,
    threads,
    async prepare(a, b, m, k, n): Promise<PreparedMatmul> {
      const ta = tf.tensor2d(a, [m, k]) as TfTensor;
      const tb = tf.tensor2d(b, [k, n]) as TfTensor;
      return {
        async run() {
          const c = tf.matMul(ta, tb) as TfTensor;
          try {
            return await c.data();
          } finally {
            c.dispose();
          }
        },
        free() {
          ta.dispose();
          tb.dispose();
        },
      };
    },
    async dispose() {
      tf.removeBackend(backend);
    },
  };
}

/**
 * `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD), its `.wasm` files taken
 * from the installed package. It runs its threaded build only where it
 * finds browser Web Workers and shared memory, so under Node it computes on
 * one thread whatever is asked; its `threads` reports what it got.
 */
const tfjsWasmPeer: MatmulPeer = {
  impl: 'tfjs-wasm',
  packages: [TFJS_CORE, TFJS_WASM],
  async load(threads) {
    const tf = await importOptional(TFJS_CORE);
    const wasm = await importOptional(TFJS_WASM);
    // Node cannot fetch the .wasm files by URL: point tfjs at the package's dist folder.
    const dist = dirname(createRequire(import.meta.url).resolve(`${TFJS_WASM}/dist/tfjs-backend-wasm.wasm`));
    wasm.setWasmPaths(`${dist}/`);
    wasm.setThreadsCount(threads);
    const impl = await tfjsImpl(tf, 'wasm', 'tfjs-wasm', threads);
    return { ...impl, threads: wasm.getThreadsCount() as number };
  },
};

/** `@tensorflow/tfjs-backend-webgpu` on the adapter of {@link sharedGpu}. */
const tfjsWebgpuPeer: MatmulPeer = {
  impl: 'tfjs-webgpu',
  packages: [TFJS_CORE, TFJS_WEBGPU],
  async load() {
    await sharedGpu();
    const tf = await importOptional(TFJS_CORE);
    await importOptional(TFJS_WEBGPU);
    return tfjsImpl(tf, 'webgpu', 'tfjs-webgpu', 1);
  },
};

/** A jax-js array, as far as the bench uses it (jax-js moves arrays into operations; `.ref` keeps one alive). */
interface JaxArray {
  readonly ref: JaxArray;
  data(): Promise<Float32Array>;
  dispose(): void;
}

/** `@jax-js/jax` on its wasm device (single-threaded). */
const jaxWasmPeer: MatmulPeer = {
  impl: 'jax-js',
  packages: [JAX],
  async load() {
    const jax = await importOptional(JAX);
    // Only the wasm device: jax-js probes navigator.gpu for the others, which Node 20 lacks.
    const available = (await jax.init('wasm')) as string[];
    if (!available.includes('wasm')) throw new Error('jax-js found no wasm device');
    jax.defaultDevice('wasm');
    const np = jax.numpy;
    return {
      impl: 'jax-js',
      backend: 'wasm',
      threads: 1,
      async prepare(a, b, m, k, n) {
        const ja = np.array(a, { shape: [m, k] }) as JaxArray;
        const jb = np.array(b, { shape: [k, n] }) as JaxArray;
        return {
          run: () => (np.matmul(ja.ref, jb.ref) as JaxArray).data(),
          free() {
            ja.dispose();
            jb.dispose();
          },
        };
      },
      async dispose() {},
    };
  },
};

/** The peers measured next to each of our backends. */
export const MATMUL_PEERS: Readonly<Record<string, readonly MatmulPeer[]>> = {
  wasm: [tfjsWasmPeer, jaxWasmPeer],
  webgpu: [tfjsWebgpuPeer],
  reference: [],
};
