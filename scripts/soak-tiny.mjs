#!/usr/bin/env node
// The long-run memory check on the design's `tiny` config (Llama, hidden 256,
// 4 layers, 4 heads, 2 KV heads, FFN 688, vocab 4096, tied embeddings; LoRA
// r = 8 on q_proj, v_proj): trains 300 steps and fails when the footprint
// (backend memory + JS heap after GC) ever exceeds its step-100 value by
// more than 5 %. It runs the CI soak tests with LORAFUSE_SOAK_* variables.
//
// Usage: node scripts/soak-tiny.mjs [--backend wasm|webgpu|both] [--steps 300] [--batch 1] [--tokens 64]
// See docs/reliability.md for the figures.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const TESTS = { wasm: 'packages/core/test/soak.test.ts', webgpu: 'packages/backend-webgpu/test/soak.test.ts' };

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '300' },
    batch: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '64' },
  },
});
const backends = values.backend === 'both' ? Object.keys(TESTS) : [values.backend];
if (!backends.every((b) => b in TESTS)) {
  console.error(`--backend must be wasm, webgpu or both, got ${values.backend}`);
  process.exit(2);
}
for (const key of ['steps', 'batch', 'tokens']) {
  if (!/^[1-9]\d*$/.test(values[key])) {
    console.error(`--${key} must be a positive integer, got ${values[key]}`);
    process.exit(2);
  }
}
if (Number(values.steps) <= 100) {
  console.error('--steps must be over 100: step 100 is the reference the check compares with.');
  process.exit(2);
}
console.log(`soak-tiny: ${values.steps} steps at ${values.batch} × ${values.tokens} tokens on ${backends.join(', ')}`);
const env = {
  ...process.env,
  LORAFUSE_SOAK_MODEL: 'tiny',
  LORAFUSE_SOAK_STEPS: values.steps,
  LORAFUSE_SOAK_BATCH: values.batch,
  LORAFUSE_SOAK_TOKENS: values.tokens,
};
const result = spawnSync('npx', ['vitest', 'run', ...backends.map((b) => TESTS[b])], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
