/// <reference types="@webgpu/types" />
import type { BufferPool } from './buffer-pool.js';

/** Largest workgroup count per dispatch dimension that every adapter supports. */
const MAX_WORKGROUPS_PER_DIMENSION = 65_535;
/** Dispatches encoded before the batch is submitted anyway, bounding the parked buffers. */
const MAX_DISPATCHES_PER_SUBMISSION = 512;
/** 32-bit FNV-1a parameters. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Distinct bindings whose bind groups are kept. */
const MAX_CACHED_BIND_GROUPS = 4096;
/** `GPUBufferUsage.UNIFORM | COPY_DST`, spelled out: under Node the WebGPU globals exist only if Dawn was loaded through this package. */
const UNIFORM_USAGE = 0x40 | 0x08;

/** One compute dispatch: a cached pipeline, its storage buffers in binding order, its uniforms. */
export interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  /** Storage buffers bound at 0, 1, ...; the uniform buffer follows them. */
  readonly buffers: readonly GPUBuffer[];
  /** Uniform words (u32 bit patterns), bound after the storage buffers; omitted when the shader has none. */
  readonly uniforms?: Uint32Array;
  /**
   * Number of workgroups: a count, spread over x and y when above the
   * per-dimension limit (shaders rebuild the flat index from
   * `num_workgroups`), or an explicit `[x, y, z]` grid.
   */
  readonly workgroups: number | readonly [number, number, number];
}

/**
 * Encodes kernels into one command encoder and submits them together only
 * when results are needed (a read, a sync) or the batch grows large, so that
 * a training step costs a few submissions rather than one per kernel.
 */
export class CommandQueue {
  readonly #device: GPUDevice;
  readonly #pool: BufferPool;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #dispatches = 0;
  /** FNV-1a hash of the kernels and grids encoded since the last wait, and their count: what a wait that starts now covers. */
  #workHash = FNV_OFFSET;
  #workCount = 0;
  readonly #bindGroups = new Map<string, GPUBindGroup>();
  readonly #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  readonly #ids = new ObjectIds();
  /** What each uniform buffer was last written with: only this queue writes them. */
  readonly #uniformWords = new WeakMap<GPUBuffer, Uint32Array>();

  constructor(device: GPUDevice, pool: BufferPool) {
    this.#device = device;
    this.#pool = pool;
  }

  #encoderNow(): GPUCommandEncoder {
    this.#encoder ??= this.#device.createCommandEncoder({ label: 'lorafuse batch' });
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  /** Encodes one dispatch. */
  dispatch(d: Dispatch): void {
    const grid = typeof d.workgroups === 'number' ? spread(d.workgroups) : d.workgroups;
    if (grid.some((n) => n === 0)) return;
    let buffers = d.buffers;
    if (d.uniforms) {
      const uniform = this.#pool.acquire(d.uniforms.byteLength, UNIFORM_USAGE);
      // The pool hands a steady loop the same uniform buffer for the same
      // dispatch step after step, mostly with the same values: a write then
      // would only cost a copy on the queue.
      if (!sameWords(this.#uniformWords.get(uniform), d.uniforms)) {
        this.#device.queue.writeBuffer(uniform, 0, d.uniforms.buffer, d.uniforms.byteOffset, d.uniforms.byteLength);
        this.#uniformWords.set(uniform, d.uniforms.slice());
      }
      buffers = [...buffers, uniform];
      this.#pool.release(uniform);
    }
    const bindGroup = this.#bindGroup(d.pipeline, buffers);
    this.#pass ??= this.#encoderNow().beginComputePass();
    this.#pass.setPipeline(d.pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.#workHash = mix(mix(mix(mix(this.#workHash, this.#ids.of(d.pipeline)), grid[0]), grid[1]), grid[2]);
    this.#workCount++;
    if (++this.#dispatches >= MAX_DISPATCHES_PER_SUBMISSION) this.submit();
  }

  // The pool hands a steady loop the same buffers for the same kernels step
  // after step (see BufferPool.recycle), so most bindings repeat; creating a
  // bind group costs far more than the dispatch itself.
  #bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = String(this.#ids.of(pipeline));
    for (const buffer of buffers) key += `,${this.#ids.of(buffer)}`;
    let group = this.#bindGroups.get(key);
    if (!group) {
      // Dropping them all at once keeps the bound simple; a steady loop refills it within a step.
      if (this.#bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.#bindGroups.clear();
      const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      group = this.#device.createBindGroup({ layout: this.#layouts.get(pipeline) ?? this.#layoutOf(pipeline), entries });
      this.#bindGroups.set(key, group);
    }
    return group;
  }

  #layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    const layout = pipeline.getBindGroupLayout(0);
    this.#layouts.set(pipeline, layout);
    return layout;
  }

  /** Encodes a buffer-to-buffer copy of `bytes` (a multiple of 4). */
  copy(source: GPUBuffer, target: GPUBuffer, bytes: number): void {
    if (bytes === 0) return;
    this.#endPass();
    this.#encoderNow().copyBufferToBuffer(source, 0, target, 0, bytes);
  }

  /**
   * The kernels and grid sizes encoded since the last call, as one string:
   * a steady loop submits the same work under the same signature each time.
   */
  takeWorkSignature(): string {
    const signature = `${this.#workCount}:${this.#workHash}`;
    this.#workHash = FNV_OFFSET;
    this.#workCount = 0;
    return signature;
  }

  /** Submits everything encoded so far and makes the buffers released meanwhile reusable. */
  submit(): void {
    this.#endPass();
    if (this.#encoder) this.#device.queue.submit([this.#encoder.finish()]);
    this.#encoder = undefined;
    this.#dispatches = 0;
    this.#pool.recycle();
  }
}

function sameWords(a: Uint32Array | undefined, b: Uint32Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One FNV-1a step over a 32-bit value. */
const mix = (hash: number, value: number): number => Math.imul(hash ^ value, FNV_PRIME) >>> 0;

function spread(count: number): readonly [number, number, number] {
  const x = Math.min(count, MAX_WORKGROUPS_PER_DIMENSION);
  return [x, x === 0 ? 0 : Math.ceil(count / x), 1];
}

/** Small integer ids of objects, for cache keys. */
class ObjectIds {
  readonly #ids = new WeakMap<object, number>();
  #next = 0;

  of(object: object): number {
    let id = this.#ids.get(object);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(object, id);
    }
    return id;
  }
}
