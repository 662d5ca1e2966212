#!/usr/bin/env node
// End-to-end suite of the browser example (examples/browser): builds the
// app with Vite (the @lorafuse/* packages from their sources), serves the
// build from 127.0.0.1 with cross-origin isolation (COOP/COEP), and drives
// it in headless Debian Chromium through playwright-core, as a user would:
// pick the files, run, watch, cancel, reload, resume, download. Prints one
// line per flow (ok, skip or FAIL) and a closing `N passed, N skipped, N
// failed` line. A flow that cannot make its check here (no WebGPU adapter, a
// comparison whose reference flow did not run) is skipped; with CI=true a
// skipped flow that must run fails the run. Flows wait on states of the page
// (data attributes, text), bounded only by what is left of the time budget.
//
// Usage: node scripts/test-browser-e2e.mjs [name-filter...]
// Env:   CHROMIUM_PATH  the browser binary (default: chromium on PATH)
//        LORAFUSE_E2E_BUDGET_MS  time budget for everything (default 300000, 600000 with LORAFUSE_E2E_LONG)
//        LORAFUSE_E2E_LONG=1  also run the long flows (the quick demo on WebGPU: about 4.5 min on SwiftShader)
//        CI=true  a missing browser, or a skipped flow that must run, fails the run
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import ts from 'typescript';
import { build, createServer, createServerModuleRunner } from 'vite';
import { serveFiles } from '../tests/browser/server.mjs';
import { CHROMIUM_ARGS, chromiumForSuite } from '../tests/browser/chromium.mjs';
import { hasWebGPUAdapter, openApp, pickInputs, readOutcome, waitForEnd } from '../tests/browser-e2e/page.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP = join(ROOT, 'examples/browser');
const FIXTURES = join(ROOT, 'packages/core/test/fixtures');
const LONG = process.env.LORAFUSE_E2E_LONG === '1';
const CI = process.env.CI === 'true';
const BUDGET_MS = Number(process.env.LORAFUSE_E2E_BUDGET_MS ?? (LONG ? 600_000 : 300_000));
const deadline = Date.now() + BUDGET_MS;
const remainingMs = () => deadline - Date.now();
// Time kept back from a flow's waits for reporting and shutdown.
const SHUTDOWN_MARGIN_MS = 20_000;

/** What a flow returns when it cannot make its check here: the runner reports it as skipped. */
const skip = (reason) => ({ skipped: reason });

/** The run every flow uses (the resume flow must match the uninterrupted one). */
const RUN = {
  source: 'files',
  backend: 'wasm',
  simd: 'plain',
  threads: '1',
  ratio: '0.5',
  epochs: '2',
  lr: '0.005',
  accumulation: '1',
  batchSize: '1',
  seed: '3',
  checkpointEvery: '1',
};
const CLI_RUN = ['--prune-ratio', '0.5', '--epochs', '2', '--lr', '0.005', '--accumulation', '1', '--batch-size', '1', '--seed', '3'];
const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

/** `@lorafuse/*` → source entry, from the root tsconfig's paths; exact matches, so `core` does not swallow `core/node`. */
function workspaceAliases() {
  const { config, error } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return Object.entries(config.compilerOptions.paths).map(([name, [target]]) => ({
    find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`),
    replacement: resolve(ROOT, target),
  }));
}

/** Fails the build when Dawn (npm `webgpu`, Node only) would enter the browser bundle. */
const noDawn = () => ({
  name: 'no-dawn',
  load(id) {
    if (/[\\/]node_modules[\\/]webgpu[\\/]/.test(id)) this.error(`the browser bundle would include Dawn (${id})`);
  },
});

/** Builds the app into a temporary folder and returns its files by URL path. */
async function buildApp(outDir) {
  const alias = workspaceAliases();
  await build({
    root: APP,
    configFile: join(APP, 'vite.config.ts'),
    logLevel: 'warn',
    resolve: { alias },
    plugins: [noDawn()],
    worker: { plugins: () => [noDawn()] },
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return { files: await readTree(outDir), alias };
}

/** Every file under `root`, by URL path (under `prefix`). */
async function readTree(root, prefix = '', files = new Map()) {
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.set(`${prefix}/${relative(root, path).split('\\').join('/')}`, await readFile(path));
    }
  };
  await walk(root);
  return files;
}

const isFiniteLoss = (row) => Number.isFinite(row.loss) && row.loss > 0;

/** The checks every finished page gets: table, chart, progress and the two PEFT files. */
function checkOutcome(outcome, totalSteps) {
  assert.deepEqual(
    outcome.rows.map((r) => r.name),
    ['base model', 'target adapter', 'cat merge, untrained', 'adaptive merge + pruning'],
  );
  assert.ok(outcome.rows.every(isFiniteLoss), `losses must be finite: ${JSON.stringify(outcome.rows)}`);
  const [, , untrained, adapted] = outcome.rows;
  assert.ok(adapted.loss < untrained.loss, `training must lower the loss: ${untrained.loss} → ${adapted.loss}`);
  assert.equal(adapted.shown[3], '50.0%', 'the adapted merge is pruned to the ratio');
  assert.equal(outcome.chart.points, totalSteps, 'one chart point per step');
  assert.equal(outcome.chart.segments, totalSteps, 'the loss line has a vertex per step');
  assert.ok(outcome.chart.sparsity.length > 0, 'the sparsity line is drawn');
  assert.equal(outcome.progress.value, totalSteps);
  assert.deepEqual(Object.keys(outcome.files).sort(), ADAPTER_FILES);
}

const TOTAL_STEPS = 2 * 24;

const DEMO_METHODS = ['base', 'target-only', 'cat-merge', 'adaptive', 'adaptive+prune'];

/** The finished demo page: the five methods scored, the pruned curve drawn, the adapter offered. */
function checkDemo(outcome) {
  assert.deepEqual(
    outcome.rows.map((r) => r.name),
    DEMO_METHODS,
  );
  assert.ok(outcome.rows.every(isFiniteLoss), `losses must be finite: ${JSON.stringify(outcome.rows)}`);
  const pruned = outcome.rows[4];
  assert.ok(outcome.chart.points > 0 && outcome.chart.segments === outcome.chart.points, 'the loss curve has a vertex per step');
  assert.ok(outcome.chart.sparsity.split(/[ML]/).filter(Boolean).length === outcome.chart.points, 'the sparsity curve has a vertex per step');
  assert.ok(/^\d+\.\d%$/.test(pruned.shown[5]), `the pruned row shows its sparsity: ${pruned.shown}`);
  assert.deepEqual(Object.keys(outcome.files).sort(), [...ADAPTER_FILES, 'lorafuse.json']);
}

/**
 * The flows, in order; later ones compare with what earlier ones stored in
 * `shared`. A flow returns a note, or {@link skip} when it cannot make its
 * check here; `mustRun` flows fail a CI=true run instead of skipping.
 * `long` ones run only with LORAFUSE_E2E_LONG=1 (a deliberate opt-in: left
 * out, they are reported as skipped, even in CI).
 */
const FLOWS = [
  {
    name: 'built-in demo, quick, on wasm: the table and adapter equal the Node demo bit for bit, chart drawn',
    mustRun: true,
    async run({ context, origin, node, shared }) {
      const page = await openApp(context, origin, { source: 'demo', quick: 'true', backend: 'wasm', simd: 'plain', threads: '1', seed: '0' });
      await page.click('#run');
      // The Node run goes alongside the page's (same settings, seed, backend build and thread count); it blocks this
      // event loop, so it starts only once the page is running on its own.
      const { losses, weights } = await node.nodeDemo(0);
      await waitForEnd(page);
      const outcome = await readOutcome(page);
      checkDemo(outcome);
      for (const row of outcome.rows) assert.equal(row.loss, losses[row.name], `${row.name}: page ${row.loss}, Node ${losses[row.name]}`);
      assert.ok(Buffer.from(outcome.files['adapter_model.safetensors']).equals(Buffer.from(weights)), 'the demo adapter differs from the Node run');
      shared.demo = outcome;
      return `${outcome.chart.points} adapt steps; table: ${outcome.rows.map((r) => `${r.name} ${r.loss.toFixed(3)}`).join(', ')}`;
    },
  },
  {
    // The whole quick demo (pretraining included) on SwiftShader, which runs WGSL on the CPU with the backend's
    // CPU-adapter kernels: 261 s on the 2-core development machine, so it runs only with LORAFUSE_E2E_LONG=1.
    name: 'built-in demo, quick, on WebGPU (SwiftShader): the table within 1e-3 of the wasm demo, chart drawn',
    long: true,
    mustRun: true,
    async run({ context, origin, shared }) {
      const page = await openApp(context, origin, { source: 'demo', quick: 'true', backend: 'webgpu', seed: '0' });
      if (!(await hasWebGPUAdapter(page))) return skip('this Chromium offers no WebGPU adapter');
      await page.click('#run');
      await waitForEnd(page);
      assert.match(await page.textContent('#status'), /on webgpu/);
      const outcome = await readOutcome(page);
      checkDemo(outcome);
      if (!shared.demo) return skip('nothing to compare with: the wasm demo flow did not run');
      for (const [i, row] of outcome.rows.entries()) {
        const wasm = shared.demo.rows[i].loss;
        assert.ok(Math.abs(row.loss - wasm) <= 1e-3 * wasm, `${row.name}: ${row.loss} on webgpu vs ${wasm} on wasm`);
      }
      return `table: ${outcome.rows.map((r) => `${r.name} ${r.loss.toFixed(3)}`).join(', ')}`;
    },
  },
  {
    name: 'wasm (plain SIMD): pick files, adapt, table + chart, adapter equals the Node CLI bit for bit',
    mustRun: true,
    async run({ context, origin, inputs, shared, node }) {
      const page = await openApp(context, origin, RUN);
      await pickInputs(page, inputs);
      await page.click('#run');
      await waitForEnd(page);
      assert.match(await page.textContent('#status'), /on wasm \(SIMD128, 1 thread\)/);
      const outcome = await readOutcome(page);
      checkOutcome(outcome, TOTAL_STEPS);
      shared.wasm = outcome;
      const out = join(inputs.dir, 'cli-out');
      await node.cli([
        'adapt',
        '--model',
        inputs.model,
        '--target',
        inputs.target,
        '--related',
        inputs.related,
        '--train',
        inputs.train,
        '--backend',
        'wasm',
        ...CLI_RUN,
        '--out',
        out,
        '--json',
      ]);
      for (const name of ADAPTER_FILES) assert.ok(Buffer.from(outcome.files[name]).equals(await readFile(join(out, name))), `${name} differs from the CLI's`);
      // The table's adapted loss is the merged adapter's loss as `lorafuse eval` computes it.
      const evaluated = JSON.parse(
        await node.cli(['eval', '--model', inputs.model, '--adapter', out, '--data', inputs.train, '--metric', 'loss', '--backend', 'wasm', '--json']),
      );
      assert.ok(
        Math.abs(evaluated.loss - outcome.rows[3].loss) <= 1e-5 * evaluated.loss,
        `table loss ${outcome.rows[3].loss} vs lorafuse eval ${evaluated.loss}`,
      );
    },
  },
  {
    name: 'URL inputs (urlFolder/urlSource in the worker): the same adapter as from picked files',
    mustRun: true,
    async run({ context, origin, shared }) {
      const at = (path) => `${origin}/inputs/${path}`;
      const page = await openApp(context, origin, {
        ...RUN,
        source: 'urls',
        modelUrl: at('model'),
        targetUrl: at('target'),
        relatedUrls: at('related'),
        trainUrl: at('train.jsonl'),
      });
      await page.click('#run');
      await waitForEnd(page);
      const outcome = await readOutcome(page);
      checkOutcome(outcome, TOTAL_STEPS);
      if (!shared.wasm) return skip('nothing to compare with: the wasm flow did not run');
      for (const name of ADAPTER_FILES)
        assert.ok(Buffer.from(outcome.files[name]).equals(Buffer.from(shared.wasm.files[name])), `${name} differs from the picked-files run's`);
    },
  },
  {
    name: 'Hub ids (hubFolder in the worker, from the fake Hub with CORS): the picked-files adapter bit for bit; a reload downloads nothing again',
    mustRun: true,
    async run({ context, origin, inputs, shared, node, hub }) {
      const { model, target, related } = node.HUB_REPOS;
      const query = { ...RUN, source: 'hub', modelId: model, targetId: target, relatedIds: `${related}@v1`, hubEndpoint: hub.endpoint };
      const page = await openApp(context, origin, query);
      const runFromHub = async () => {
        await page.setInputFiles('#train-file', inputs.train);
        await page.click('#run');
        await waitForEnd(page);
        const outcome = await readOutcome(page);
        checkOutcome(outcome, TOTAL_STEPS);
        return outcome;
      };
      const first = await runFromHub();
      const downloaded = hub.downloads();
      // The weights are LFS files: the Hub redirects them to its storage host, another origin.
      for (const repo of [model, target, related])
        assert.ok(
          downloaded.some((d) => d.startsWith('hub ') && d.includes(`/${repo}/resolve/`)),
          `nothing of ${repo} came from the Hub: ${downloaded.join(', ')}`,
        );
      assert.equal(downloaded.filter((d) => d.startsWith('cdn ')).length, 3, `one weights file per repository from the storage host: ${downloaded.join(', ')}`);
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === 'idle');
      const asked = hub.requests.length;
      const second = await runFromHub();
      assert.ok(hub.requests.length > asked, 'the second run asks the Hub which commit each id names');
      assert.deepEqual(hub.downloads(), downloaded, 'the second run, after a reload, downloads nothing: the Cache API holds every file');
      for (const name of ADAPTER_FILES)
        assert.ok(Buffer.from(second.files[name]).equals(Buffer.from(first.files[name])), `${name} differs between the two runs from the Hub`);
      if (!shared.wasm) return skip('nothing to compare with: the wasm flow did not run');
      for (const name of ADAPTER_FILES)
        assert.ok(Buffer.from(first.files[name]).equals(Buffer.from(shared.wasm.files[name])), `${name} differs from the picked-files run's`);
      return `${downloaded.length} downloads, none after the reload`;
    },
  },
  {
    // SwiftShader runs WGSL on the CPU, far slower than wasm: a one-step run on four pairs, compared with the same run on wasm.
    name: 'webgpu named explicitly (SwiftShader): a one-step run matches wasm within 1e-4',
    mustRun: true,
    async run({ context, origin, inputs, node }) {
      const small = { ...RUN, epochs: '1', accumulation: '2', batchSize: '2' };
      const outcomes = {};
      for (const backend of ['wasm', 'webgpu']) {
        const page = await openApp(context, origin, { ...small, backend });
        if (backend === 'webgpu' && !(await hasWebGPUAdapter(page))) return skip('this Chromium offers no WebGPU adapter');
        await pickInputs(page, inputs, inputs.small);
        await page.click('#run');
        await waitForEnd(page);
        assert.match(await page.textContent('#status'), new RegExp(`on ${backend}`));
        outcomes[backend] = await readOutcome(page);
        checkOutcome(outcomes[backend], 1);
        await page.close();
      }
      const { wasm, webgpu } = outcomes;
      const difference = await node.adapterDifference(webgpu.files['adapter_model.safetensors'], wasm.files['adapter_model.safetensors']);
      assert.ok(difference <= 1e-4, `webgpu adapter differs from wasm by ${difference} (relative L2)`);
      for (const [i, row] of webgpu.rows.entries())
        assert.ok(Math.abs(row.loss - wasm.rows[i].loss) <= 1e-4 * row.loss, `${row.name}: ${row.loss} vs wasm ${wasm.rows[i].loss}`);
      return `adapter within ${difference.toExponential(1)} of wasm`;
    },
  },
  {
    name: 'wasm threads under COOP/COEP: 2 threads give the 1-thread adapter bit for bit',
    mustRun: true,
    async run({ context, origin, inputs, shared }) {
      const page = await openApp(context, origin, { ...RUN, threads: '2' });
      assert.match(await page.textContent('#environment'), /; cross-origin isolated;/, 'the server sends COOP/COEP, so the page is isolated');
      await pickInputs(page, inputs);
      await page.click('#run');
      await waitForEnd(page);
      assert.match(await page.textContent('#status'), /on wasm \(SIMD128, 2 threads\)/);
      const outcome = await readOutcome(page);
      checkOutcome(outcome, TOTAL_STEPS);
      if (!shared.wasm) return skip('nothing to compare with: the wasm flow did not run');
      for (const name of ADAPTER_FILES)
        assert.ok(Buffer.from(outcome.files[name]).equals(Buffer.from(shared.wasm.files[name])), `${name} differs from the 1-thread run's`);
    },
  },
  {
    name: 'wasm relaxed SIMD (fused multiply-add): within 1e-6 relative of plain SIMD',
    mustRun: true,
    async run({ context, origin, inputs, shared, node }) {
      // Chromium has shipped relaxed SIMD since version 114; an engine without it fails the run with BACKEND_INIT_FAILED.
      const page = await openApp(context, origin, { ...RUN, simd: 'relaxed' });
      await pickInputs(page, inputs);
      await page.click('#run');
      await waitForEnd(page);
      assert.match(await page.textContent('#status'), /on wasm \(relaxed SIMD, 1 thread\)/);
      const outcome = await readOutcome(page);
      checkOutcome(outcome, TOTAL_STEPS);
      if (!shared.wasm) return skip('nothing to compare with: the wasm flow did not run');
      const difference = await node.adapterDifference(outcome.files['adapter_model.safetensors'], shared.wasm.files['adapter_model.safetensors']);
      assert.ok(difference <= 1e-6, `relaxed differs from plain by ${difference} (relative L2)`);
      return `within ${difference.toExponential(1)}`;
    },
  },
  {
    name: 'cancel mid-training, reload, resume from OPFS: the adapter equals the uninterrupted run bit for bit',
    mustRun: true,
    async run({ context, origin, inputs, shared }) {
      const page = await openApp(context, origin, RUN);
      await pickInputs(page, inputs);
      await page.click('#run');
      // Clicked from inside the page the moment step 3 is shown, so the run cannot finish first.
      await page.waitForFunction(
        () => {
          if (Number(document.body.dataset.step ?? 0) < 3) return false;
          document.getElementById('cancel').click();
          return true;
        },
        null,
        { polling: 'raf' },
      );
      await waitForEnd(page, 'cancelled');
      const stoppedAt = Number(await page.evaluate(() => document.body.dataset.step));
      assert.ok(stoppedAt < TOTAL_STEPS, 'the run was cancelled before its end');
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === 'idle');
      assert.equal(await page.isVisible('#resume-banner'), true, 'a reload offers to resume');
      // The worker may finish (and checkpoint) a step or two between the click and the cancel reaching it.
      const saved = Number(/step (\d+) of (\d+)/.exec(await page.textContent('#resume-text'))?.[1]);
      assert.ok(saved >= stoppedAt && saved < TOTAL_STEPS, `the offered step ${saved} lies in [${stoppedAt}, ${TOTAL_STEPS})`);
      await page.click('#resume');
      await waitForEnd(page);
      assert.match(await page.textContent('#status'), new RegExp(`done: ${TOTAL_STEPS} steps`));
      const outcome = await readOutcome(page);
      assert.deepEqual(Object.keys(outcome.files).sort(), ADAPTER_FILES);
      assert.equal(await page.isVisible('#resume-banner'), false, 'a finished run is no longer offered');
      if (!shared.wasm) return skip('nothing to compare with: the wasm flow did not run');
      for (const name of ADAPTER_FILES)
        assert.ok(Buffer.from(outcome.files[name]).equals(Buffer.from(shared.wasm.files[name])), `${name} differs from the uninterrupted run's`);
      return `cancelled at step ${stoppedAt}, resumed after step ${saved}`;
    },
  },
];

const counts = { passed: 0, skipped: 0, failed: 0 };

/** Counts and prints a flow's outcome: a note (passed), {@link skip}, or the error it threw. */
function report(flow, ms, outcome) {
  const label = `${flow.name} (${ms} ms)`;
  if (outcome instanceof Error) {
    counts.failed += 1;
    console.log(`FAIL ${label}\n${String(outcome.stack ?? outcome).replace(/^/gm, '       ')}`);
  } else if (outcome?.skipped === undefined) {
    counts.passed += 1;
    console.log(`ok   ${label}${outcome ? ` — ${outcome}` : ''}`);
  } else if (CI && flow.mustRun) {
    counts.failed += 1;
    console.log(`FAIL ${label} — skipped (${outcome.skipped}), but CI=true requires this flow to run`);
  } else {
    counts.skipped += 1;
    console.log(`skip ${label} — ${outcome.skipped}`);
  }
}

async function main() {
  const filters = process.argv.slice(2);
  const named = FLOWS.filter((f) => filters.length === 0 || filters.some((x) => f.name.includes(x)));
  const flows = named.filter((f) => LONG || !f.long);
  for (const f of named.filter((f) => !flows.includes(f))) {
    counts.skipped += 1;
    console.log(`skip ${f.name} — a long flow, run with LORAFUSE_E2E_LONG=1`);
  }
  const browserFound = chromiumForSuite('browser e2e');
  if (!browserFound.path) return browserFound.exitCode;
  const executablePath = browserFound.path;
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-e2e-'));
  let server;
  let hub;
  let browser;
  let vite;
  const watchdog = setTimeout(() => {
    console.error(`FAIL browser e2e: time budget of ${BUDGET_MS} ms exceeded`);
    void Promise.allSettled([browser?.close(), server?.close(), hub?.close(), vite?.close(), rm(dir, { recursive: true, force: true })]).then(() =>
      process.exit(1),
    );
  }, BUDGET_MS);
  try {
    const { files, alias } = await buildApp(join(dir, 'dist'));
    // A module runner that stays open: the command line imports its backends lazily.
    vite = await createServer({
      configFile: false,
      logLevel: 'warn',
      appType: 'custom',
      resolve: { alias },
      server: { middlewareMode: true, hmr: false, ws: false },
    });
    const node = await createServerModuleRunner(vite.environments.ssr, { hmr: false }).import(join(ROOT, 'tests/browser-e2e/node-side.ts'));
    const inputs = { dir, ...(await node.writeFlowInputs(join(dir, 'inputs'), FIXTURES)) };
    // The inputs are served too, for the URL flow.
    server = await serveFiles(await readTree(join(dir, 'inputs'), '/inputs', files));
    // The model and adapters by Hub id, for the Hub flow: another origin than the page's, as the real Hub is.
    hub = await node.startInputsHub(inputs);
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: Math.max(1_000, remainingMs() - SHUTDOWN_MARGIN_MS) });
    console.log(`browser e2e: Chromium ${browser.version()}; app built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const shared = {};
    for (const flow of flows) {
      const context = await browser.newContext({ acceptDownloads: true });
      // Every wait of the flow (page states, clicks, reloads) may take what is left of the budget: a busy machine is slow, not wrong.
      context.setDefaultTimeout(Math.max(1_000, remainingMs() - SHUTDOWN_MARGIN_MS));
      const t0 = Date.now();
      let outcome;
      try {
        outcome = await flow.run({ context, origin: server.origin, inputs, shared, node, hub });
      } catch (error) {
        outcome = error instanceof Error ? error : new Error(String(error));
      } finally {
        await context.close();
      }
      report(flow, Date.now() - t0, outcome);
    }
  } finally {
    clearTimeout(watchdog);
    await browser?.close();
    await server?.close();
    await hub?.close();
    await vite?.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`${counts.passed} passed, ${counts.skipped} skipped, ${counts.failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return counts.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`FAIL browser e2e: ${error.stack ?? error}`);
    process.exit(1);
  },
);
