#!/usr/bin/env node
// Launches the experiment harness: bundles experiments/main.ts (and the
// workspace packages it imports, from their sources, as vitest does) with
// esbuild into a temporary module and runs it with this process's arguments.
// Usage: npm run experiment -- [options]   (see experiments/options.ts or --help)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const outdir = mkdtempSync(join(tmpdir(), 'lorafuse-experiment-'));
try {
  const outfile = join(outdir, 'main.mjs');
  await build({
    entryPoints: [join(ROOT, 'experiments', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    // esbuild resolves `@lorafuse/*` to the package sources through the root tsconfig's `paths`.
    tsconfig: join(ROOT, 'tsconfig.json'),
  });
  const { main } = await import(pathToFileURL(outfile).href);
  process.exitCode = await main(process.argv.slice(2), ROOT);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
