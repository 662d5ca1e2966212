// `lorafuse plan` on a fixture model: the plan the library computes, in JSON
// and in words, and the suggestion when a budget is too small.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModelFolder, planMemory, type MemoryPlan } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { wasmMemoryTraits } from '@lorafuse/backend-wasm';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';

const model = join(FIXTURES, 'llama-tiny');

describe('lorafuse plan', () => {
  it('prints the plan of planMemory for the model, its settings and the wasm backend', async () => {
    const { code, out } = await cli('plan', '--model', model, '--backend', 'wasm', '--batch-size', '4', '--max-length', '32', '--adapters', '3', '--json');
    expect(code).toBe(0);
    const plan = JSON.parse(out) as MemoryPlan & { model: string };
    expect(plan.model).toBe(model);
    expect(plan.settings).toMatchObject({ backend: 'wasm', batchSize: 4, maxLength: 32, adapters: 3, baseDtype: 'f32' });
    expect(plan.fits).toBe(true);
    expect(plan.limitBytes).toBeGreaterThan(2 ** 31);
    const { config } = await openModelFolder(nodeFolder(model));
    // The CLI's wasm backend has as many threads as the machine offers (at most 8): the plan only varies with them through scratch.
    const expected = planMemory(config, { batchSize: 4, maxLength: 32, adapters: 3, backend: wasmMemoryTraits({ threads: 1 }) });
    expect(plan.breakdown.activations).toBe(expected.breakdown.activations);
    expect(plan.breakdown.weights).toBe(expected.breakdown.weights);
  });

  it('says when a budget is too small and what fits instead', async () => {
    const { code, out } = await cli('plan', '--model', model, '--backend', 'reference', '--batch-size', '8', '--max-length', '64', '--memory-budget', '400KiB');
    expect(code).toBe(0);
    expect(out).toMatch(/Memory plan for .*llama-tiny on reference: micro-batches of 8 × 64 tokens/);
    expect(out).toMatch(/activations kept for backward/);
    expect(out).toMatch(
      /It does not fit: checkpoint the decoder layers, hold the weights as bf16, and use (batch size \d+ with accumulation \d+|sequences of at most \d+ tokens)/,
    );
  });

  it('refuses a malformed budget with a usage error', async () => {
    const { code, err } = await cli('plan', '--model', model, '--memory-budget', 'lots');
    expect(code).toBe(2);
    expect(err).toMatch(/--memory-budget must be a positive size/);
  });
});
