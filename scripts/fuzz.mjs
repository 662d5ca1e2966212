// The long fuzz run: `npm run fuzz -- [--cases N] [--seed S] [--only i,j]`.
// Runs packages/core/test/fuzz.test.ts with more cases (default 200 000) and
// a fresh seed each time (printed, so a failure replays with --seed and
// --only). The bounded run inside `npm test` uses a fixed seed.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '200000' },
    seed: { type: 'string', default: String(Math.floor(Math.random() * 2 ** 31)) },
    only: { type: 'string' },
  },
});
for (const key of ['cases', 'seed']) {
  if (!/^\d+$/.test(values[key])) {
    console.error(`--${key} must be a non-negative integer, got ${values[key]}`);
    process.exit(2);
  }
}
console.log(`fuzz: ${values.only ? `cases ${values.only}` : `${values.cases} cases`}, seed ${values.seed}`);
const env = { ...process.env, LORAFUSE_FUZZ_CASES: values.cases, LORAFUSE_FUZZ_SEED: values.seed };
if (values.only) env.LORAFUSE_FUZZ_ONLY = values.only;
const result = spawnSync('npx', ['vitest', 'run', 'packages/core/test/fuzz.test.ts'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
