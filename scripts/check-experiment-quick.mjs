#!/usr/bin/env node
// npm run experiment:check: a fresh `npm run experiment -- --quick` against the
// committed docs/experiments/quick (see experiments/check-quick.ts or --help).
import { runBundled } from '../experiments/bundle.mjs';

process.exitCode = await runBundled('experiments/check-quick.ts', 'checkQuick', process.argv.slice(2));
