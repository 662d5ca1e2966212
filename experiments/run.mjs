#!/usr/bin/env node
// Launches the experiment harness (experiments/main.ts) with this process's arguments.
// Usage: npm run experiment -- [options]   (see experiments/options.ts or --help)
import { runBundled } from './bundle.mjs';

process.exitCode = await runBundled('experiments/main.ts', 'main', process.argv.slice(2));
