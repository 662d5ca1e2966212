import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeFolder } from '@lorafuse/core/node';
import {
  DEMO_ADAPTER_DIR,
  DEMO_PLOT_FILE,
  DEMO_RESULTS_FILE,
  FULL_DEMO_SETTINGS,
  QUICK_DEMO_SETTINGS,
  runDemo,
  type DemoResult,
  type DemoStage,
} from '@lorafuse/demo';
import { parseCommand } from '../args.js';
import { jsonLine, table } from '../format.js';
import type { CliIO } from '../io.js';
import { progressBar } from '../progress.js';
import { useCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { versions } from '../versions.js';
import type { Command } from './types.js';

/** The default output folder, relative to the working directory. */
const DEFAULT_OUT = 'lorafuse-demo';

/** The cache folder: `$LORAFUSE_CACHE_DIR/demo`, else `$XDG_CACHE_HOME/lorafuse/demo`, else `~/.cache/lorafuse/demo`. */
function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LORAFUSE_CACHE_DIR) return join(env.LORAFUSE_CACHE_DIR, 'demo');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lorafuse', 'demo');
}

const STAGE_NAMES: Readonly<Record<DemoStage, string>> = {
  pretrain: 'pretrain',
  related: 'related LoRA',
  target: 'target-only LoRA',
  adapt: 'adaptive merge',
  'adapt-prune': 'adaptive + pruning',
  evaluate: 'evaluate',
};

/** The result as a text table, with what the columns mean. */
function demoTable(result: DemoResult): string {
  const f = (x: number, digits = 3) => x.toFixed(digits);
  const rows = result.rows.map((r) => [
    r.method,
    f(r.loss, 4),
    f(r.rougeL),
    f(r.rougeLEn),
    f(r.rougeLJa),
    r.sparsity === null ? '-' : f(r.sparsity),
    r.rank ?? '-',
  ]);
  return (
    `Target: train-service updates, ${result.data.targetTrain} training pairs, ${result.data.targetTest} test pairs (English + Japanese); ` +
    `${result.settings} demo, seed ${result.seed}, ${result.backend} backend.\n` +
    table(['method', 'test loss', 'ROUGE-L', 'ROUGE-L en', 'ROUGE-L ja', 'sparsity', 'rank'], rows)
  );
}

/** `lorafuse demo`: the whole method on the built-in task. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'The whole method on a built-in English + Japanese task: pretrain, LoRAs, merge, adapt + prune, compare',
  usage: `Usage: lorafuse demo [--quick] [--out <dir>] [--backend name] [--seed n]
                     [--cache <dir> | --no-cache] [--quiet] [--json]

  Generates a small English + Japanese summarization corpus (weather, matches,
  product notices, recipes; target: train-service updates with a few pairs),
  pretrains a small Llama on it (byte-level tokens), trains a LoRA per related
  domain and one on the target's pairs, then compares on the held-out target
  test pairs: the base model, the target-only LoRA, the static cat merge, the
  adaptive merge, and the adaptive merge with pruning (test loss and ROUGE-L).

  --quick     a small run in seconds (for tests and trying it out); numbers are not meaningful
  --out       output folder (default ./${DEFAULT_OUT}): data/, ${'base-model'}/, related/, target/,
              ${DEMO_ADAPTER_DIR}/ (the adaptive merge + pruning as a PEFT adapter, with lorafuse.json),
              ${DEMO_PLOT_FILE}, ${DEMO_RESULTS_FILE}
  --cache     where the pretrained base model and the related LoRAs are kept between runs
              (default $LORAFUSE_CACHE_DIR/demo, else $XDG_CACHE_HOME/lorafuse/demo, else
              ~/.cache/lorafuse/demo); keyed by everything they depend on
  --no-cache  train everything from scratch and keep nothing
  --backend   auto (default), wasm, webgpu or reference
  --seed      seed of the data, the initialisations and the shuffles (default 0)
  --json      print the results as one JSON object instead of the table
`,
  async run(argv, io) {
    const parsed = parseCommand('demo', argv, {
      quick: { type: 'boolean' },
      out: { type: 'string' },
      cache: { type: 'string' },
      'no-cache': { type: 'boolean' },
    });
    const { values } = parsed;
    const seed = parseSeed(values.seed);
    const out = resolve(typeof values.out === 'string' ? values.out : DEFAULT_OUT);
    const cacheDir = values['no-cache'] ? undefined : typeof values.cache === 'string' ? resolve(values.cache) : defaultCacheDir();
    const runtime = await cliRuntime(cliPlugins(seed));
    const progress = progressBar(io, Boolean(values.quiet || values.json));
    let result: DemoResult;
    try {
      const backend = await useCliBackend(runtime, values, io);
      if (!values.quiet && !values.json) io.err(`lorafuse demo: writing ${out}\n`);
      result = await runDemo({
        backend,
        out: nodeFolder(out),
        settings: values.quick ? QUICK_DEMO_SETTINGS : FULL_DEMO_SETTINGS,
        seed,
        cache: cacheDir === undefined ? undefined : (key) => nodeFolder(join(cacheDir, key)),
        versions: versions(),
        onProgress: (p) =>
          progress.update(
            `${STAGE_NAMES[p.stage]}${p.stage === 'related' ? ` ${p.label}` : ''}`,
            p.done,
            p.total,
            p.loss === undefined ? undefined : `loss ${p.loss.toFixed(3)}`,
          ),
      });
    } finally {
      progress.end();
      await runtime.dispose();
    }
    report(io, result, out, Boolean(values.json), Boolean(values.quiet));
    return 0;
  },
};

function report(io: CliIO, result: DemoResult, out: string, json: boolean, quiet: boolean): void {
  if (json) {
    io.out(jsonLine({ out, ...result }));
    return;
  }
  io.out(demoTable(result));
  if (quiet) return;
  const cached = result.cached.base ? `; base model${result.cached.related > 0 ? ` and ${result.cached.related} related LoRAs` : ''} from the cache` : '';
  const total = Object.values(result.seconds).reduce((a, b) => a + b, 0);
  io.err(
    `${total.toFixed(0)} s${cached}. Wrote ${join(out, DEMO_ADAPTER_DIR)} (PEFT adapter + lorafuse.json), ${join(out, DEMO_PLOT_FILE)} and ${join(out, DEMO_RESULTS_FILE)}.\n`,
  );
}
