// The training process train-kill.test.ts kills: trains llama-tiny +
// lora-qv-r8 on wasm with a checkpoint after every step, resuming from the
// checkpoint in <work> when there is one, and saves the final adapter to
// <work>/final. Bundled by the test with esbuild and run with plain node.
//
// Usage: node child.mjs <fixtures> <work> [pauseAtCommit]
// stdout: `START <step>` (the step it resumes after), `STEP <n>` after each
// step, `PAUSED <n>` when the <pauseAtCommit>-th checkpoint of this process
// is written to its temporary file and not yet renamed (the process then
// waits there to be killed), `DONE` at the end.
import {
  CausalLM,
  downloadAdapter,
  loadAdapter,
  loadCheckpoint,
  saveAdapter,
  train,
  uploadAdapter,
  CHECKPOINT_FILE,
  type WritableFolder,
} from '@lorafuse/core';
import { nodeFolder, writeFileAtomic } from '@lorafuse/core/node';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { join } from 'node:path';

// Examples per epoch; the run is two epochs of one-example steps.
const EXAMPLES = 60;

const [fixtures, work, pauseArg] = process.argv.slice(2);
const pauseAt = pauseArg === undefined ? Infinity : Number(pauseArg);
let commits = 0;

// The checkpoint folder: nodeFolder's atomic write, with a stop between the
// complete temporary file and its rename when the parent asks for one.
const disk = nodeFolder(work);
const checkpoints: WritableFolder = {
  ...disk,
  write: (path, chunks) =>
    writeFileAtomic(join(work, path), chunks, {
      beforeRename: async () => {
        if (++commits < pauseAt) return;
        process.stdout.write(`PAUSED ${commits}\n`);
        await new Promise(() => setInterval(() => undefined, 1000));
      },
    }),
};

const backend = await wasmBackend().create();
const model = await CausalLM.load(backend, nodeFolder(join(fixtures, 'llama-tiny')));
const initial = await loadAdapter(nodeFolder(join(fixtures, 'lora-qv-r8')));
const adapter = uploadAdapter(backend, initial);
// Fixed pseudo-random token ids (vocabulary 64), lengths 5 to 12.
const examples = Array.from({ length: EXAMPLES }, (_, i) => {
  const ids = Array.from({ length: 5 + (i % 8) }, (_, j) => 1 + ((i * 37 + j * 11 + ((i * j) % 7)) % 63));
  return { ids, targets: ids.map((_, j) => (j + 1 < ids.length ? ids[j + 1] : -100)) };
});
const resume = (await disk.exists(CHECKPOINT_FILE)) ? await loadCheckpoint(disk) : undefined;
process.stdout.write(`START ${resume?.progress.step ?? 0}\n`);
const run = train(backend, model, {
  adapters: [adapter],
  train: examples,
  padId: 0,
  batchSize: 1,
  epochs: 2,
  seed: 11,
  schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 3 },
  maxGradNorm: 1,
  checkpoint: { folder: checkpoints, everySteps: 1 },
  resume,
});
for await (const event of run) if (event.type === 'step') process.stdout.write(`STEP ${event.step}\n`);
await saveAdapter(nodeFolder(join(work, 'final')), await downloadAdapter(backend, adapter, initial.config));
process.stdout.write('DONE\n');
