#!/usr/bin/env node
// Runs a command while every core is kept busy, to check that tests hold on
// a loaded machine: one worker thread per core (os.availableParallelism())
// spins at normal priority for as long as the command runs, then they stop
// and this exits with the command's exit code (128 + the signal number when
// a signal ended it). SIGINT, SIGTERM and SIGHUP are passed on to the
// command.
//
// Usage: node scripts/with-load.mjs <command> [args...]
//        npm run test:load   (the Node suites, then the browser end-to-end suite)
import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { Worker } from 'node:worker_threads';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-load.mjs <command> [args...]');
  process.exit(2);
}

const cores = availableParallelism();
// A loop that never yields: terminate() still stops it (V8 interrupts running code).
const spinners = Array.from({ length: cores }, () => new Worker('for (;;) {}', { eval: true }));
console.log(`with-load: ${cores} busy thread(s) on ${cores} core(s) while running: ${[command, ...args].join(' ')}`);

const child = spawn(command, args, { stdio: 'inherit' });
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));

const stop = () => Promise.allSettled(spinners.map((worker) => worker.terminate()));

child.on('error', async (error) => {
  await stop();
  console.error(`with-load: could not run ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', async (code, signal) => {
  await stop();
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
