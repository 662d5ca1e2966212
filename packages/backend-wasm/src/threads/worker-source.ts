import { CALLS_OFFSET, HEADER_INTS, JOB, MAX_ARGS, MAX_CALLS, MESSAGE_BYTES, QUIT, SLOT, SLOTS_OFFSET, SLOT_BYTES } from './control.js';

/**
 * The program every worker runs, as source text. It is a string, not a
 * module file, so that it travels inside the package's JavaScript: Node runs
 * it with `new Worker(source, { eval: true })`, browsers from a Blob URL. No
 * bundler (tsup's ESM and CJS builds, Vite, esbuild) has to find, copy or
 * rewrite a worker file, and `import.meta.url` (absent from CJS) is never
 * needed.
 *
 * The worker gets the compiled module, the shared memory and the control
 * block in one message, instantiates the module on that memory, answers
 * `{ ready: true }`, then serves jobs forever: it sleeps in `Atomics.wait`
 * on its request word, joins the job (unless the host has closed it),
 * claims (or takes its dealt) calls and runs them until none is left,
 * records the first error's message and how many calls it ran, publishes
 * the request number as done and wakes the host.
 */
const SERVE = `
"use strict";
function serve(init, reply) {
  let kernels;
  try {
    kernels = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  } catch (error) {
    reply({ ready: false, message: String((error && error.message) || error) });
    return;
  }
  const job = new Int32Array(init.control, 0, ${HEADER_INTS});
  const calls = new Float64Array(init.control, ${CALLS_OFFSET}, ${MAX_CALLS * MAX_ARGS});
  const base = ${SLOTS_OFFSET} + init.slot * ${SLOT_BYTES};
  const header = new Int32Array(init.control, base, ${HEADER_INTS});
  const message = new Uint8Array(init.control, base + ${HEADER_INTS * 4}, ${MESSAGE_BYTES});
  const encoder = new TextEncoder();
  const functions = init.names.map((name) => kernels[name]);
  reply({ ready: true });
  let seen = 0;
  for (;;) {
    Atomics.wait(header, ${SLOT.request}, seen);
    const request = Atomics.load(header, ${SLOT.request});
    if (request === seen) continue;
    seen = request;
    if (Atomics.compareExchange(header, ${SLOT.claim}, request, -request) !== request) continue;
    const kernel = job[${JOB.kernel}];
    if (kernel === ${QUIT}) return;
    const run = functions[kernel];
    const count = job[${JOB.calls}];
    const argc = job[${JOB.argc}];
    const deal = job[${JOB.deal}];
    const next = (i) => (deal === 0 ? Atomics.add(job, ${JOB.next}, 1) : i + deal);
    header[${SLOT.status}] = 0;
    let ran = 0;
    for (let i = deal === 0 ? next(0) : init.slot + 1; i < count; i = next(i)) {
      try {
        run.apply(null, Array.from(calls.subarray(i * ${MAX_ARGS}, i * ${MAX_ARGS} + argc)));
        ran++;
      } catch (error) {
        header[${SLOT.messageBytes}] = encoder.encodeInto(String((error && error.message) || error), message).written;
        header[${SLOT.status}] = 1;
        break;
      }
    }
    header[${SLOT.ran}] = ran;
    Atomics.store(header, ${SLOT.done}, request);
    Atomics.notify(header, ${SLOT.done});
  }
}
`;

/** Where a worker runs: a Node `worker_threads` worker or a browser Web Worker. */
export type WorkerHost = 'node' | 'browser';

/** The worker program for `host`: the shared body plus how that host delivers the first message. */
export function workerSource(host: WorkerHost): string {
  // Node evaluates the source as CommonJS or, when the parent ran with
  // --input-type=module, as an ES module: process.getBuiltinModule (Node
  // ≥ 20.16) works in both, with require and import() for older versions.
  const start =
    host === 'node'
      ? `const builtin = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('node:worker_threads') : typeof require === 'function' ? require('node:worker_threads') : undefined;
Promise.resolve(builtin ?? import('node:worker_threads')).then(({ parentPort }) => {
  parentPort.once('message', (init) => serve(init, (answer) => parentPort.postMessage(answer)));
});`
      : `self.onmessage = (event) => { self.onmessage = null; serve(event.data, (answer) => self.postMessage(answer)); };`;
  return SERVE + start;
}
