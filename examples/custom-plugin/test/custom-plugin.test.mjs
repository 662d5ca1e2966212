// Runs the example plugin against the built packages, as a user would, and
// checks it against a float64 reference written here independently.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { adapt, CausalLM, downloadAdapter, isLoraFuseError, loadAdapter, Pruner, pruneAdapter, Runtime, uploadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { rowMagnitudeMetric } from '../index.mjs';

const fixture = fileURLToPath(new URL('../../../packages/core/test/fixtures/lora-qv-r8', import.meta.url));
const baseModel = fileURLToPath(new URL('../../../packages/core/test/fixtures/llama-tiny', import.meta.url));
const RATIO = 0.3;

/** float64 |θ_ij| / ‖θ_i‖₂ of a row-major [rows, cols] factor (0 for a zero row). */
function referenceScores(tensor) {
  const [rows, cols] = tensor.shape;
  const scores = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let squares = 0;
    for (let j = 0; j < cols; j++) squares += tensor.data[i * cols + j] ** 2;
    const norm = Math.sqrt(squares);
    for (let j = 0; j < cols; j++) scores[i * cols + j] = norm > 0 ? Math.abs(tensor.data[i * cols + j]) / norm : 0;
  }
  return scores;
}

/** Flat indices of the ⌊ratio·n⌋ lowest scores, ties by lower index first, by a full sort. */
function lowest(scores, ratio) {
  const k = Math.floor(ratio * scores.length * (1 + 1e-12));
  const order = Array.from(scores.keys()).sort((x, y) => scores[x] - scores[y] || x - y);
  return new Set(order.slice(0, k));
}

const magnitude = (tensor) => Float64Array.from(tensor.data, Math.abs);

async function setUp() {
  const runtime = new Runtime();
  registerPruningPlugins(runtime.plugins);
  runtime.plugins.register(rowMagnitudeMetric);
  const backend = await runtime.useBackend('auto');
  const adapter = await loadAdapter(nodeFolder(fixture));
  return { runtime, backend, adapter };
}

test('scores equal the float64 row-normalised magnitude', async () => {
  const { runtime, backend, adapter } = await setUp();
  try {
    for (const m of adapter.modules) {
      const a = backend.upload(m.a.castFloat('f32'));
      const b = backend.upload(m.b.castFloat('f32'));
      const scores = await rowMagnitudeMetric.score({ backend, module: { name: m.name, a, b }, step: 0, state: new Map() });
      for (const [device, host] of [
        [scores.a, m.a],
        [scores.b, m.b],
      ]) {
        const got = (await backend.read(device)).data;
        const want = referenceScores(host.castFloat('f32'));
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * want[i] + 1e-12, `${m.name}[${i}]: ${got[i]} vs ${want[i]}`);
        backend.free(device);
      }
      backend.free(a);
      backend.free(b);
    }
  } finally {
    await runtime.dispose();
  }
});

test('pruneAdapter with the plugin prunes exactly the float64 reference mask of each factor', async () => {
  const { runtime, backend, adapter } = await setUp();
  const pruner = new Pruner({ backend, plugins: runtime.plugins, metric: 'example/row-magnitude', grouping: 'module', ratio: RATIO });
  try {
    const live = backend.memory().tensors;
    const { adapter: pruned, report } = await pruneAdapter(pruner, adapter);
    assert.equal(backend.memory().tensors, live, 'the plugin frees its temporaries');
    let differsFromMagnitude = false;
    for (const [i, m] of adapter.modules.entries()) {
      for (const factor of ['a', 'b']) {
        const before = m[factor].castFloat('f32');
        const after = pruned.modules[i][factor].castFloat('f32');
        const expected = lowest(referenceScores(before), RATIO);
        const byMagnitude = lowest(magnitude(before), RATIO);
        differsFromMagnitude ||= [...expected].some((j) => !byMagnitude.has(j));
        for (let j = 0; j < before.data.length; j++) {
          assert.equal(after.data[j], expected.has(j) ? 0 : before.data[j], `${m.name} ${factor}[${j}]`);
        }
        const row = report.tensors.find((t) => t.module === m.name && t.factor === factor.toUpperCase());
        assert.equal(row.pruned, expected.size);
        assert.ok(Math.abs(row.sparsity - RATIO) < 1 / before.data.length);
      }
    }
    // Otherwise the fixture could not tell this metric from the built-in one.
    assert.ok(differsFromMagnitude, 'the row-normalised masks should differ from the magnitude masks somewhere');
  } finally {
    pruner.dispose();
    await runtime.dispose();
  }
});

test('adapt() with the plugin prunes after its step exactly the float64 reference mask', async () => {
  const { runtime, backend, adapter } = await setUp();
  const model = await CausalLM.load(backend, nodeFolder(baseModel));
  const device = uploadAdapter(backend, adapter);
  // Token ids of the tiny model's 64-word vocabulary; the loss covers each sequence's second half.
  const train = [
    [3, 9, 27, 17, 51, 25],
    [8, 4, 12, 60, 33, 2, 14],
  ].map((ids) => ({ ids, targets: ids.map((_, j) => (j >= ids.length / 2 && j + 1 < ids.length ? ids[j + 1] : -100)) }));
  try {
    // One step at a learning rate far below f32's resolution leaves the factors as loaded, so the reference is computed on them.
    let pruneEvents = 0;
    for await (const event of adapt(backend, model, {
      adapters: [device],
      train,
      padId: 0,
      ratio: RATIO,
      metric: 'example/row-magnitude',
      plugins: runtime.plugins,
      batchSize: 2,
      accumulation: 1,
      epochs: 1,
      lr: 1e-30,
    })) {
      if (event.type === 'prune') pruneEvents++;
    }
    assert.equal(pruneEvents, 1);
    const after = await downloadAdapter(backend, device, adapter.config);
    for (const [i, m] of adapter.modules.entries()) {
      for (const factor of ['a', 'b']) {
        const expected = lowest(referenceScores(m[factor].castFloat('f32')), RATIO);
        const got = after.modules[i][factor].castFloat('f32').data;
        for (let j = 0; j < got.length; j++) assert.equal(got[j] === 0, expected.has(j), `${m.name} ${factor}[${j}]`);
      }
    }
  } finally {
    model.dispose();
    await runtime.dispose();
  }
});

test('registering the plugin twice is refused with PLUGIN_DUPLICATE', async () => {
  const runtime = new Runtime();
  runtime.plugins.register(rowMagnitudeMetric);
  assert.throws(
    () => runtime.plugins.register(rowMagnitudeMetric),
    (error) => isLoraFuseError(error) && error.code === 'PLUGIN_DUPLICATE' && /example\/row-magnitude/.test(error.message),
  );
});
