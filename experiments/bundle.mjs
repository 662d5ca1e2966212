// Runs a TypeScript entry of the harness: bundles it (and the workspace
// packages it imports, from their sources, as vitest does) with esbuild into
// a temporary module, imports it and calls one of its exports with the
// arguments and the repository root; that function returns the exit code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `entry` (relative to the root), calls `exportName(args, ROOT)` and returns its exit code. */
export async function runBundled(entry, exportName, args) {
  const outdir = mkdtempSync(join(tmpdir(), 'lorafuse-experiment-'));
  try {
    const outfile = join(outdir, 'entry.mjs');
    await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outfile,
      logLevel: 'warning',
      // esbuild resolves `@lorafuse/*` to the package sources through the root tsconfig's `paths`.
      tsconfig: join(ROOT, 'tsconfig.json'),
    });
    const module = await import(pathToFileURL(outfile).href);
    return await module[exportName](args, ROOT);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
