import { LoraFuseError } from '@lorafuse/core';
import type { CliIO } from '../io.js';
import { BENCH_MATMUL_USAGE, benchMatmul } from './bench-matmul.js';
import { BENCH_MEMORY_USAGE, benchMemory } from './bench-memory.js';
import { BENCH_PRUNE_USAGE, benchPrune } from './bench-prune.js';
import { BENCH_TRAIN_USAGE, benchTrain } from './bench-train.js';
import type { Command } from './types.js';

/** The benchmarks `lorafuse bench <suite>` runs, with their usage (shown together by `lorafuse bench --help`). */
const SUITES: Readonly<Record<string, { readonly run: (argv: string[], io: CliIO) => Promise<number>; readonly usage: string }>> = {
  matmul: { run: (argv, io) => benchMatmul(argv, io), usage: BENCH_MATMUL_USAGE },
  prune: { run: benchPrune, usage: BENCH_PRUNE_USAGE },
  train: { run: (argv, io) => benchTrain(argv, io), usage: BENCH_TRAIN_USAGE },
  memory: { run: (argv, io) => benchMemory(argv, io), usage: BENCH_MEMORY_USAGE },
};

/** `lorafuse bench <suite>`: measurements as JSON Lines (DESIGN §5) or a table. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'Benchmark a pipeline on each backend against a peer measured in the same run (matmul, prune, train, memory)',
  usage: `Usage: lorafuse bench <suite> [options] [--json]   (suites: ${Object.keys(SUITES).join(', ')})\n\n${Object.values(SUITES)
    .map((s) => s.usage)
    .join('\n')}`,
  async run(argv, io) {
    const [name, ...rest] = argv;
    const suite = name === undefined ? undefined : SUITES[name];
    if (!suite)
      throw new LoraFuseError(
        'CLI_USAGE',
        `bench: ${name === undefined ? 'name a suite' : `unknown suite "${name}"`}; suites: ${Object.keys(SUITES).join(', ')}.`,
      );
    return suite.run(rest, io);
  },
};
