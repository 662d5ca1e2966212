// Hostile files: a seeded fuzz run over every loader (see docs/reliability.md).
// LORAFUSE_FUZZ_CASES, LORAFUSE_FUZZ_SEED and LORAFUSE_FUZZ_ONLY (comma-separated
// case indices) change the run; `npm run fuzz` runs a longer one.
import { expect, it } from 'vitest';
import { formatTally, runFuzz } from './fuzz/run.js';

const cases = Number(process.env.LORAFUSE_FUZZ_CASES ?? 10_000);
const seed = Number(process.env.LORAFUSE_FUZZ_SEED ?? 20_251_129);
const only = process.env.LORAFUSE_FUZZ_ONLY?.split(',').map(Number);

it(`fuzzes the loaders with ${only ? only.length : cases} seeded cases: every one ends in success or a specific typed error, without hanging, reading no more than the file holds`, async () => {
  const tally = await runFuzz({ seed, cases, only });
  console.log(formatTally(tally, seed));
  expect(tally.bad).toEqual([]);
  expect({ crashes: tally.crashes, hangs: tally.hangs, untyped: tally.untyped, catchAll: tally.catchAll, overReads: tally.overReads }).toEqual({
    crashes: 0,
    hangs: 0,
    untyped: 0,
    catchAll: 0,
    overReads: 0,
  });
  expect(tally.maxReadRatio).toBeLessThanOrEqual(1);
  if (only) return;
  expect(Object.keys(tally.outcomes).filter((o) => o !== 'ok').length).toBeGreaterThanOrEqual(8);
  expect(tally.pastHeader / tally.cases).toBeGreaterThanOrEqual(0.2);
}, 600_000);
