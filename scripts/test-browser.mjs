#!/usr/bin/env node
// Browser test harness: bundles tests/browser/*.entry.ts (the @lorafuse/*
// packages resolve to their sources, as in vitest), serves them from
// 127.0.0.1 with cross-origin isolation, runs each page in headless Debian
// Chromium through playwright-core and prints one line per case and a
// closing `N passed, N failed[, N skipped]` line.
//
// Usage: node scripts/test-browser.mjs [name-filter...]
// Env:   CHROMIUM_PATH  the browser binary (default: chromium on PATH)
//        LORAFUSE_BROWSER_BUDGET_MS  time budget for everything (default 300000)
//        CI=true  a missing browser, or a case the budget left out, fails instead of skipping
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import ts from 'typescript';
import { CHROMIUM_ARGS, chromiumForSuite } from '../tests/browser/chromium.mjs';
import { serveFiles } from '../tests/browser/server.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY_DIR = join(ROOT, 'tests/browser');
// esbuild's output folder; virtual, since nothing is written to disk.
const BUNDLE_ROOT = join(ROOT, '.browser-bundle');
const BUDGET_MS = Number(process.env.LORAFUSE_BROWSER_BUDGET_MS ?? 300_000);
// Time kept back from each page's budget for reporting and shutdown.
const SHUTDOWN_MARGIN_MS = 10_000;

const deadline = Date.now() + BUDGET_MS;
const remainingMs = () => deadline - Date.now();

/** `@lorafuse/*` specifier → source file, from the root tsconfig's `paths` (the single list of package entries). */
function packageSources() {
  const configPath = join(ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const paths = config.compilerOptions?.paths ?? {};
  return new Map(Object.entries(paths).map(([specifier, [target]]) => [specifier, resolve(ROOT, target)]));
}

/** esbuild plugin: resolve the workspace packages to their sources. */
function workspaceSources() {
  const sources = packageSources();
  return {
    name: 'workspace-sources',
    setup(builder) {
      builder.onResolve({ filter: /^@lorafuse\// }, (args) => {
        const path = sources.get(args.path);
        return path ? { path } : { errors: [{ text: `${args.path} is not in tsconfig.json paths` }] };
      });
    },
  };
}

// A browser bundle must never contain Dawn (the npm `webgpu` package): the
// WebGPU backend loads it only under Node, through an import bundlers cannot follow.
const NODE_ONLY_INPUT = /(^|\/)node_modules\/webgpu\//;

async function bundle(entries) {
  const result = await build({
    entryPoints: Object.fromEntries(entries.map((name) => [name, join(ENTRY_DIR, `${name}.entry.ts`)])),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    splitting: true,
    sourcemap: 'linked',
    outdir: BUNDLE_ROOT,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [workspaceSources()],
  });
  for (const warning of result.warnings) console.warn(`bundle warning: ${warning.text}`);
  const leaked = Object.keys(result.metafile.inputs).filter((input) => NODE_ONLY_INPUT.test(input));
  if (leaked.length > 0) throw new Error(`the browser bundle includes Node-only modules: ${leaked.join(', ')}`);

  const files = new Map();
  for (const file of result.outputFiles) files.set(`/${file.path.slice(BUNDLE_ROOT.length + 1)}`, file.contents);
  for (const name of entries) {
    files.set(
      `/${name}.html`,
      `<!doctype html><meta charset="utf-8"><title>${name}</title><link rel="icon" href="data:,"><script type="module" src="/${name}.js"></script>`,
    );
  }
  return files;
}

const counts = { passed: 0, failed: 0, skipped: 0 };

function printCase(entry, report) {
  counts[report.status] += 1;
  const label = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' }[report.status];
  console.log(`${label} ${entry} › ${report.name} (${Math.round(report.ms)} ms)`);
  if (report.error) console.log(report.error.replace(/^/gm, '       '));
}

/** Runs one entry page in a fresh context; resolves when its report is in, the page fails, or its time is up. */
async function runEntry(browser, origin, name) {
  const budget = remainingMs() - SHUTDOWN_MARGIN_MS;
  if (budget <= 0) return printCase(name, { name: 'not run', status: 'failed', ms: 0, error: 'time budget exhausted by earlier entries' });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    let printed = 0;
    let reported = false;
    await page.exposeFunction('__lorafuseCase', (report) => {
      if (reported) return;
      printed += 1;
      printCase(name, report);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') console.log(`     ${name} console.error: ${message.text()}`);
    });
    const started = Date.now();
    // An uncaught error or a crash means the report will never come.
    const broken = new Promise((resolveBroken) => {
      page.on('pageerror', (error) => resolveBroken(`uncaught error in the page: ${error.stack ?? error.message}`));
      page.on('crash', () => resolveBroken('the page crashed'));
    });
    await page.goto(`${origin}/${name}.html?budgetMs=${budget}`);
    const outcome = await Promise.race([
      page
        .waitForFunction(() => window.__report, null, { timeout: budget, polling: 100 })
        .then(
          (handle) => handle.jsonValue(),
          () => `no report within the time budget (${Math.round(budget / 1000)} s)`,
        ),
      broken,
    ]);
    reported = true;
    if (typeof outcome === 'string') return printCase(name, { name: 'page', status: 'failed', ms: Date.now() - started, error: outcome });
    // Cases the live channel missed (it is best-effort) are printed from the report.
    for (const report of outcome.cases.slice(printed)) printCase(name, report);
    if (outcome.cases.length === 0) printCase(name, { name: 'page', status: 'failed', ms: Date.now() - started, error: 'the entry reported no cases' });
  } finally {
    await context.close();
  }
}

async function main() {
  const filters = process.argv.slice(2);
  const entries = readdirSync(ENTRY_DIR)
    .filter((file) => file.endsWith('.entry.ts'))
    .map((file) => file.slice(0, -'.entry.ts'.length))
    .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
    .sort();
  if (entries.length === 0) throw new Error(`no browser entries in ${ENTRY_DIR} match ${filters.join(' ') || '*'}`);

  const browserFound = chromiumForSuite('browser suites');
  if (!browserFound.path) return browserFound.exitCode;
  const executablePath = browserFound.path;

  const files = await bundle(entries);
  const server = await serveFiles(files);
  let browser;
  // The budget is global: a hung launch or page must not hang the test run.
  const watchdog = setTimeout(
    () => {
      console.error(`FAIL browser suites: time budget of ${BUDGET_MS} ms exceeded`);
      void Promise.allSettled([browser?.close(), server.close()]).then(() => process.exit(1));
    },
    Math.max(remainingMs(), 0),
  );
  const stop = () => {
    void Promise.allSettled([browser?.close(), server.close()]).then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: Math.min(60_000, remainingMs()) });
    console.log(`browser suites: Chromium ${browser.version()} (${executablePath}); entries: ${entries.join(', ')}`);
    for (const name of entries) await runEntry(browser, server.origin, name);
  } finally {
    clearTimeout(watchdog);
    await browser?.close();
    await server.close();
  }
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
  console.log(`${counts.passed} passed, ${counts.failed} failed${skipped}`);
  // A case the time budget left out is a check that did not run: CI must not count it as done.
  if (counts.skipped > 0 && process.env.CI === 'true') {
    console.log(`FAIL browser suites: ${counts.skipped} case(s) skipped, and CI=true requires every case to run (raise LORAFUSE_BROWSER_BUDGET_MS)`);
    return 1;
  }
  return counts.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`FAIL browser suites: ${error.stack ?? error}`);
    process.exit(1);
  },
);
