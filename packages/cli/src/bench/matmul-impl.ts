import { Tensor, type Backend } from '@lorafuse/core';

/** A matrix product prepared on one implementation with its inputs already uploaded. */
export interface PreparedMatmul {
  /** Computes `a·b` and reads the `[m, n]` result back to the host. */
  run(): Promise<Float32Array>;
  /** Releases the inputs. */
  free(): void;
}

/** One implementation of `a·b` (ours or a peer) that `lorafuse bench matmul` times. */
export interface MatmulImpl {
  /** The `impl` of the JSON line (`lorafuse`, `tfjs-wasm`, `tfjs-webgpu`, `jax-js`). */
  readonly impl: string;
  /** The `backend` of the JSON line. */
  readonly backend: string;
  /** Threads the implementation computes with. */
  readonly threads: number;
  /** Our backend's description (build, adapter, threads): the `device` of our JSON line. */
  readonly device?: string;
  /** Uploads row-major `a` `[m, k]` and `b` `[k, n]`. */
  prepare(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<PreparedMatmul>;
  /** Releases the implementation's device or engine. */
  dispose(): Promise<void>;
}

/** Our matmul on `backend`: the `matmul` kernel, then `read`. */
export function lorafuseMatmul(backend: Backend, threads = 1): MatmulImpl {
  return {
    impl: 'lorafuse',
    backend: backend.name,
    threads,
    device: backend.description,
    async prepare(a, b, m, k, n) {
      const da = backend.upload(Tensor.f32([m, k], a));
      const db = backend.upload(Tensor.f32([k, n], b));
      return {
        async run() {
          const c = backend.kernels.matmul(da, db);
          try {
            return (await backend.read(c)).data as Float32Array;
          } finally {
            backend.free(c);
          }
        },
        free() {
          backend.free(da);
          backend.free(db);
        },
      };
    },
    dispose: () => backend.dispose(),
  };
}
