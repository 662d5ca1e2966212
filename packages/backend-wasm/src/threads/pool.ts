import { LoraFuseError } from '@lorafuse/core';
import { CALLS_OFFSET, HEADER_INTS, JOB, MAX_ARGS, MAX_CALLS, MESSAGE_BYTES, QUIT, SLOT, SLOTS_OFFSET, SLOT_BYTES } from './control.js';
import { canBlock } from './host.js';
import { spawnWorker, type ThreadWorker } from './spawn.js';
import type { WorkerHost } from './worker-source.js';

/** How the parts of split kernel calls were run (`WasmBackend.threadUse`). */
export interface ThreadUse {
  /** Parts the calling thread ran. */
  readonly byCaller: number;
  /** Parts the workers ran. */
  readonly byWorkers: number;
}

/**
 * How a job's calls go to the threads. `claimed`, the default: every
 * thread, the caller included, claims the next call from one counter, so a
 * thread that waits for a core takes fewer, and the caller leaves out a
 * worker that has not woken by the time every call is claimed. `dealt`:
 * call `i` goes to thread `i mod threads` (the caller is thread 0, worker
 * `w` thread `w + 1`) and the caller waits for every worker. Slower on a
 * busy machine, but which thread runs which call no longer depends on how
 * the OS schedules them, so a test can prove that workers ran calls.
 * @internal For tests: not exported by the package.
 */
export type PartAssignment = 'claimed' | 'dealt';

let assignment: PartAssignment = 'claimed';

/**
 * Sets how the calls of every job of every pool are assigned from now on,
 * and returns the previous setting (see {@link PartAssignment}).
 * @internal For tests: not exported by the package.
 */
export function assignParts(next: PartAssignment): PartAssignment {
  const previous = assignment;
  assignment = next;
  return previous;
}

/** One worker and its views of the control block. */
interface Slot {
  readonly worker: ThreadWorker;
  readonly header: Int32Array;
  readonly message: Uint8Array;
}

/**
 * The request number after the slot's last one, cycling through
 * 1 … 2³⁰ − 1 so that it and its negation (a worker's claim) stay distinct
 * non-zero Int32 values forever.
 */
const nextRequest = (header: Int32Array): number => (header[SLOT.request] % 0x3fff_ffff) + 1;

/**
 * Workers that each run an instance of the kernel module on one shared
 * `WebAssembly.Memory`. A job is a list of calls (parts of one kernel call,
 * each writing its own range of the output) in a shared control block — no
 * messages, so the host stays synchronous. The host wakes the workers and
 * claims calls one at a time from the same counter as they do, so a worker
 * that waits for a core on a busy machine simply gets fewer calls, then
 * closes the job to workers that have not joined and waits for those that
 * have: `Atomics.wait` where the thread may block (Node, any worker), a spin
 * on `Atomics.load` on a browser window's main thread, which may not. Each
 * worker counts the calls it ran; {@link ThreadPool.use} adds them up.
 */
export class ThreadPool {
  readonly #slots: readonly Slot[];
  readonly #names: readonly string[];
  readonly #job: Int32Array;
  readonly #calls: Float64Array;
  readonly #blocking = canBlock();
  #closed = false;
  #byCaller = 0;
  #byWorkers = 0;

  private constructor(control: SharedArrayBuffer, slots: readonly Slot[], names: readonly string[]) {
    this.#job = new Int32Array(control, 0, HEADER_INTS);
    this.#calls = new Float64Array(control, CALLS_OFFSET, MAX_CALLS * MAX_ARGS);
    this.#slots = slots;
    this.#names = names;
  }

  /**
   * Starts `workers` workers on `host`, each instantiating `module` on
   * `memory`; they may run the exports listed in `names`. Throws
   * `WORKER_FAILED` (with every started worker terminated) when one fails
   * to load.
   */
  static async start(host: WorkerHost, module: WebAssembly.Module, memory: WebAssembly.Memory, names: readonly string[], workers: number): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(SLOTS_OFFSET + workers * SLOT_BYTES);
    const started: ThreadWorker[] = [];
    try {
      for (let i = 0; i < workers; i++) started.push(await spawnWorker(host));
      const answers = started.map((worker, slot) => {
        const answer = worker.firstMessage();
        worker.post({ module, memory, control, slot, names });
        return answer;
      });
      for (const answer of (await Promise.all(answers)) as Array<{ ready: boolean; message?: string }>) {
        if (!answer.ready) throw new Error(`the kernel module did not instantiate in the worker: ${answer.message}`);
      }
    } catch (cause) {
      await Promise.allSettled(started.map((worker) => worker.terminate()));
      throw new LoraFuseError(
        'WORKER_FAILED',
        `The wasm backend could not start its ${workers} kernel worker(s): ${cause instanceof Error ? cause.message : String(cause)}. Use threads: 1 to run without workers.`,
        {
          details: { workers },
          cause,
        },
      );
    }
    const slots = started.map((worker, slot) => {
      const base = SLOTS_OFFSET + slot * SLOT_BYTES;
      return { worker, header: new Int32Array(control, base, HEADER_INTS), message: new Uint8Array(control, base + HEADER_INTS * 4, MESSAGE_BYTES) };
    });
    return new ThreadPool(control, slots, names);
  }

  /** Calls run by the calling thread and by the workers so far. */
  get use(): ThreadUse {
    return { byCaller: this.#byCaller, byWorkers: this.#byWorkers };
  }

  /** Number of workers (the calling thread is not counted). */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * Runs every call of the export `name` (at most {@link MAX_CALLS}, all
   * with the same number of arguments) on this thread with `runHere` and on
   * the workers, and returns when all have ended. Throws `WORKER_FAILED`
   * naming the kernel when a call threw in a worker, or the error of a call
   * run here, once every call has ended.
   */
  run(name: string, calls: readonly (readonly number[])[], runHere: (call: readonly number[]) => void): void {
    const job = this.#job;
    calls.forEach((call, i) => {
      this.#calls.set(call, i * MAX_ARGS);
    });
    job[JOB.kernel] = this.#names.indexOf(name);
    job[JOB.calls] = calls.length;
    job[JOB.argc] = calls[0].length;
    const dealt = assignment === 'dealt';
    const threads = this.#slots.length + 1;
    job[JOB.deal] = dealt ? threads : 0;
    Atomics.store(job, JOB.next, 0);
    const pending = this.#slots.map(({ header }) => {
      const request = nextRequest(header);
      Atomics.store(header, SLOT.claim, request);
      Atomics.store(header, SLOT.request, request);
      Atomics.notify(header, SLOT.request);
      return request;
    });
    // Dealt, this thread's calls are 0, threads, 2 · threads, …
    const next = (i: number): number => (dealt ? i + threads : Atomics.add(job, JOB.next, 1));
    let hostError: unknown;
    for (let i = dealt ? 0 : next(0); i < calls.length && hostError === undefined; i = next(i)) {
      try {
        runHere(calls[i]);
        this.#byCaller++;
      } catch (error) {
        hostError = error;
      }
    }
    const failures: string[] = [];
    this.#slots.forEach(({ header, message }, i) => {
      // A worker that has not joined yet never will for this job (dealt calls wait for every worker).
      if (!dealt && Atomics.compareExchange(header, SLOT.claim, pending[i], 0) === pending[i]) return;
      for (let done = Atomics.load(header, SLOT.done); done !== pending[i]; done = Atomics.load(header, SLOT.done)) {
        if (this.#blocking) Atomics.wait(header, SLOT.done, done);
      }
      this.#byWorkers += header[SLOT.ran];
      // TextDecoder refuses views of shared memory: decode a copy.
      if (header[SLOT.status] !== 0) failures.push(`thread ${i + 1}: ${new TextDecoder().decode(message.slice(0, header[SLOT.messageBytes]))}`);
    });
    if (failures.length > 0) {
      throw new LoraFuseError('WORKER_FAILED', `The wasm kernel ${name} failed in a worker (${failures.join('; ')}).`, { details: { kernel: name, failures } });
    }
    if (hostError !== undefined) throw hostError;
  }

  /** Tells every worker to leave its loop, then terminates it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#job[JOB.kernel] = QUIT;
    for (const { header } of this.#slots) {
      const request = nextRequest(header);
      Atomics.store(header, SLOT.claim, request);
      Atomics.store(header, SLOT.request, request);
      Atomics.notify(header, SLOT.request);
    }
    await Promise.allSettled(this.#slots.map((slot) => slot.worker.terminate()));
  }
}
