#!/usr/bin/env node
// The EOS acceptance check of issue 19 (experiments/eos-check.ts): the
// man-pages experiment's pretrained base, a LoRA trained with `lorafuse
// train` on the English target's 50 training pairs with and without the eos,
// greedy summaries of its 100 test sources. Minutes (longer when the base
// is not cached yet: it is pretrained first); not part of the default tests.
// Needs the built command line (`npm run build`) and ../shared/data/manpages.
//
// Usage: node scripts/eos-check.mjs [--target en-man7] [--max-new-tokens 128]
//          [--lora-targets q_proj,...] [--epochs n] [--lr x]
//          [--work <dir>] [--cache <dir>] [--threads n]
import { runBundled } from '../experiments/bundle.mjs';

process.exitCode = await runBundled('experiments/eos-check.ts', 'main', process.argv.slice(2));
