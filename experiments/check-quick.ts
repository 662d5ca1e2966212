import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isLoraFuseError } from '@lorafuse/core';
import { compareResults } from './compare.js';
import { loadExperimentConfig } from './config.js';
import { main } from './main.js';
import { DEFAULT_CONFIG } from './options.js';

/** The committed `--quick` results of the default config, which every fresh quick run must reproduce. */
const COMMITTED_QUICK = 'docs/experiments/quick';

const USAGE = `npm run experiment:check [-- --update] [-- --threads n]

Runs \`npm run experiment -- --quick\` afresh (a new cache in a temporary folder)
and compares its results with ${COMMITTED_QUICK}, all but the wall times and
the provenance. Exits 1 with the differences when they differ; --update writes
the fresh run there instead. Skipped when the corpus is absent, except with CI=true.`;

/** The corpus files the default config reads that are missing. */
async function missingData(root: string): Promise<string[]> {
  const { config } = await loadExperimentConfig(join(root, DEFAULT_CONFIG));
  return config.languages.map((l) => join(config.data, `${l}.jsonl`)).filter((f) => !existsSync(f));
}

/** `npm run experiment:check` (see {@link USAGE}); returns the exit code. */
export async function checkQuick(argv: readonly string[], root: string): Promise<number> {
  let values: { update?: boolean; threads?: string; help?: boolean };
  try {
    values = parseArgs({ args: [...argv], options: { update: { type: 'boolean' }, threads: { type: 'string' }, help: { type: 'boolean' } } }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = await missingData(root);
  if (missing.length > 0) {
    const what = `the corpus is missing (${missing.join(', ')})`;
    if (process.env.CI === 'true') {
      console.error(`experiment:check FAILED: ${what}; CI runs next to ../shared/data.`);
      return 1;
    }
    console.warn(`SKIPPED experiment:check: ${what}.`);
    return 0;
  }
  const committed = join(root, COMMITTED_QUICK);
  const temp = await mkdtemp(join(tmpdir(), 'lorafuse-experiment-check-'));
  try {
    // Relative to the working directory, so that the command the report shows names no machine's paths.
    const out = values.update ? relative(process.cwd(), committed) : join(temp, 'results');
    if (values.update) await rm(committed, { recursive: true, force: true });
    const code = await main(['--quick', '--cache', join(temp, 'cache'), '--out', out, '--threads', values.threads ?? '2'], root);
    if (code !== 0) return code;
    if (values.update) {
      console.log(`experiment:check: wrote the fresh quick run to ${COMMITTED_QUICK}`);
      return 0;
    }
    const differences = await compareResults(committed, out);
    if (differences.length === 0) {
      console.log(`experiment:check: the fresh --quick run reproduces ${COMMITTED_QUICK} (all but wall times and provenance)`);
      return 0;
    }
    console.error(
      [
        `experiment:check FAILED: a fresh --quick run differs from ${COMMITTED_QUICK}:`,
        ...differences,
        'If the arithmetic changed on purpose, run `npm run experiment:check -- --update`, commit the quick results and regenerate the full ones (docs/experiments.md).',
      ].join('\n'),
    );
    return 1;
  } catch (error) {
    if (!isLoraFuseError(error)) throw error;
    console.error(`experiment:check FAILED: ${error.code}: ${error.message}`);
    return 1;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
