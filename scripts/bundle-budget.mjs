#!/usr/bin/env node
// Bundle budget of the browser build: bundles what a web app imports (the
// browser entries of @lorafuse/core, @lorafuse/plugins, @lorafuse/backend-wasm
// and @lorafuse/backend-webgpu, from their sources) with esbuild, minified,
// and checks
//   - the JavaScript of core + plugins + wasm glue ≤ 120 kB gzip (the wasm
//     binaries embedded in it as base64 do not count here),
//   - each WebAssembly build (embedded or a .wasm file) ≤ 200 kB gzip,
//   - Dawn (npm `webgpu`, Node only) never enters a browser bundle.
// Prints one line per measurement and exits 1 when a budget is exceeded.
//
// Usage: node scripts/bundle-budget.mjs [--json]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KB = 1000;
const JS_BUDGET = 120 * KB;
const WASM_BUDGET = 200 * KB;
// A wasm module in base64 starts with "\0asm" = "AGFzbQ".
const EMBEDDED_WASM = /(["'`])(AGFzbQ[A-Za-z0-9+/=]{100,})\1/g;
const DAWN = /(^|\/)node_modules\/webgpu\//;

/** `@lorafuse/*` → source entry, from the root tsconfig's paths. */
function sources() {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  return new Map(Object.entries(config.compilerOptions.paths).map(([name, [target]]) => [name, resolve(ROOT, target)]));
}

async function bundle(contents) {
  const map = sources();
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    loader: { '.wasm': 'binary' },
    plugins: [
      {
        name: 'workspace-sources',
        setup(b) {
          b.onResolve({ filter: /^@lorafuse\// }, (args) => (map.has(args.path) ? { path: map.get(args.path) } : undefined));
        },
      },
    ],
  }).catch((error) => {
    // Dawn needs Node built-ins, so a bundle it enters does not even build: name it rather than the built-in.
    const leaked = (error.errors ?? []).map((e) => e.location?.file).filter((file) => file && DAWN.test(file));
    throw leaked.length ? new Error(`Dawn entered a browser bundle: ${[...new Set(leaked)].join(', ')}`) : error;
  });
  const dawn = Object.keys(result.metafile.inputs).filter((input) => DAWN.test(input));
  const code = new TextDecoder().decode(result.outputFiles[0].contents);
  const wasm = Object.keys(result.metafile.inputs).filter((input) => input.endsWith('.wasm'));
  return { code, dawn, wasm };
}

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).byteLength;
const kb = (n) => `${(n / KB).toFixed(1)} kB`;

async function main() {
  const json = process.argv.includes('--json');
  const lines = [];
  const failures = [];
  const record = (what, bytes, budget) => {
    lines.push({ what, gzip: bytes, budget });
    if (budget !== undefined && bytes > budget) failures.push(`${what}: ${kb(bytes)} gzip exceeds ${kb(budget)}`);
  };

  const main = await bundle(`export * from '@lorafuse/core'; export * from '@lorafuse/plugins'; export * from '@lorafuse/backend-wasm';`);
  const embedded = [...main.code.matchAll(EMBEDDED_WASM)].map((m) => m[2]);
  const glue = embedded.reduce((code, b64) => code.replace(b64, ''), main.code);
  record('js: core + plugins + wasm glue', gzip(Buffer.from(glue)), JS_BUDGET);
  for (const [i, b64] of embedded.entries())
    record(`wasm: embedded build ${i + 1} (${kb(Buffer.from(b64, 'base64').byteLength)} raw)`, gzip(Buffer.from(b64, 'base64')), WASM_BUDGET);
  for (const file of main.wasm) record(`wasm: ${file}`, gzip(readFileSync(join(ROOT, file))), WASM_BUDGET);
  record('js: the same with the wasm embedded (for information)', gzip(Buffer.from(main.code)));

  const webgpu = await bundle(`export * from '@lorafuse/backend-webgpu';`);
  record('js: backend-webgpu (for information)', gzip(Buffer.from(webgpu.code)));
  for (const leaked of [...main.dawn, ...webgpu.dawn]) failures.push(`Dawn entered a browser bundle: ${leaked}`);

  if (json) console.log(JSON.stringify({ lines, failures }));
  else {
    for (const line of lines)
      console.log(
        `${line.gzip > (line.budget ?? Infinity) ? 'OVER' : 'ok  '} ${line.what}: ${kb(line.gzip)} gzip${line.budget ? ` (budget ${kb(line.budget)})` : ''}`,
      );
    for (const failure of failures) console.error(`FAIL ${failure}`);
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`FAIL bundle budget: ${error.stack ?? error}`);
    process.exit(1);
  },
);
