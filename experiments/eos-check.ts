import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ByteTokenizer, CausalLM, freeAdapter, generate, loadAdapter, rougeCorpus, stopTokenIds, uploadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { promptIds } from '../packages/demo/src/evaluate.js';
import type { PageRecord } from './corpus.js';
import { encodePages, trainingSummary } from './evaluate.js';
import { openRun } from './main.js';
import { parseExperimentOptions } from './options.js';
import { loadBase, log } from './stages.js';
import { mean } from './statistics.js';

/**
 * The LoRA's default shape and length: every projection, 50 epochs. The
 * base never saw the eos in pretraining (its texts end without one) and
 * ties its embeddings, so the eos logit only moves through the hidden
 * state: a q/v LoRA (the experiment's) leaves it below every byte even after
 * 50 epochs (0 % of summaries end), all seven projections at 10 epochs end
 * none, at 30 epochs 86 %, at 50 epochs 99 %.
 */
const DEFAULT_LORA = { targets: 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj', epochs: 50 };

/** The share, median-length and ROUGE-L bounds of the acceptance check (issue 19). */
const ACCEPT = { eosShare: 0.9, lengthRatio: [0.5, 2] as const };

/** What one trained LoRA's greedy test summaries measure. */
interface RunFigures {
  /** Share of summaries that ended with eos within the token limit. */
  readonly endedWithEos: number;
  /** Median generated length in tokens (eos not counted), and the references' median. */
  readonly medianLength: number;
  readonly medianReferenceLength: number;
  /** Mean ROUGE-1/2/L F1 over the test pairs (lowercase words). */
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
  /** The summaries, in test order. */
  readonly predictions: readonly string[];
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs the built command line (`packages/cli/dist/bin.js`) and fails on a non-zero exit. */
function lorafuse(root: string, args: readonly string[]): void {
  const run = spawnSync(process.execPath, [join(root, 'packages/cli/dist/bin.js'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`lorafuse ${args.join(' ')} exited with ${run.status}`);
}

/**
 * The EOS acceptance check of issue 19, on the man-pages experiment: its
 * pretrained base (cached by the harness, pretrained first when it is not),
 * a LoRA trained with `lorafuse train` on a target's training pairs (the
 * experiment's rank, alpha, batch, learning rate and cosine schedule, on
 * {@link DEFAULT_LORA}'s projections for its epochs unless `--lora-targets`
 * and `--epochs` say otherwise; summaries cut as the experiment cuts them),
 * once with the eos after each summary (the default) and once with
 * `--no-eos`; greedy summaries of the target's test sources from the
 * experiment's prompts, up to `--max-new-tokens` (default 128) or eos. Prints, for both runs, the share
 * of summaries that end with eos, the median generated length against the
 * references' and ROUGE-L, and whether the eos run passes (≥ 90 % end with
 * eos, median length 0.5–2 × the references', ROUGE-L at least the
 * no-eos run's). Writes the figures to `<work>/eos-check.json`.
 */
export async function main(argv: readonly string[], root: string): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: 'string', default: 'en-man7' },
      'max-new-tokens': { type: 'string', default: '128' },
      work: { type: 'string' },
      'lora-targets': { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      cache: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  const maxNewTokens = Number(values['max-new-tokens']);
  const options = parseExperimentOptions(
    ['--target', values.target, ...(values.cache ? ['--cache', values.cache] : []), ...(values.threads ? ['--threads', values.threads] : [])],
    root,
  );
  const work = resolve(values.work ?? join(options.cache, `eos-check-${values.target}`));
  await mkdir(work, { recursive: true });
  const { ctx } = await openRun(options, root);
  const { backend, settings } = ctx;
  try {
    (await loadBase(ctx, true)).dispose();
    const base = join(options.cache, `base-${ctx.keys.base}`);
    const splits = ctx.data.targets.get(values.target)!;
    const tokenizer = new ByteTokenizer();
    const trainFile = join(work, 'train.jsonl');
    const lines = splits.train.map((p) => JSON.stringify({ source: p.source, summary: trainingSummary(p.summary, tokenizer, settings.maxLength) }));
    await writeFile(trainFile, `${lines.join('\n')}\n`);
    const loraTargets = values['lora-targets'] ?? DEFAULT_LORA.targets;
    const epochs = Number(values.epochs ?? DEFAULT_LORA.epochs);
    const lr = values.lr ?? String(settings.target.lr);
    const steps = Math.ceil(splits.train.length / settings.target.batchSize) * epochs;
    const trainArgs = (out: string) => [
      'train',
      ...['--model', base, '--train', trainFile, '--out', out],
      ...['--rank', String(settings.lora.r), '--alpha', String(settings.lora.alpha), '--targets', loraTargets],
      ...['--epochs', String(epochs), '--batch-size', String(settings.target.batchSize), '--lr', lr],
      ...['--schedule', 'cosine', '--warmup', String(Math.ceil(steps / 10)), '--max-length', String(settings.maxLength)],
      ...['--seed', '0', '--backend', 'wasm', '--quiet'],
    ];
    const model = await CausalLM.load(backend, nodeFolder(base));
    const figures: Record<string, RunFigures> = {};
    try {
      for (const [name, extra] of [
        ['eos', []],
        ['no-eos', ['--no-eos']],
      ] as const) {
        const out = join(work, `lora-${name}`);
        log(`lorafuse train (${name}) on ${splits.train.length} ${values.target} pairs`);
        lorafuse(root, [...trainArgs(out), ...extra]);
        const adapter = uploadAdapter(backend, await loadAdapter(nodeFolder(out)));
        try {
          figures[name] = await greedyFigures(model, adapter, splits.test, settings.maxLength, maxNewTokens);
        } finally {
          freeAdapter(backend, adapter);
        }
        const f = figures[name];
        log(
          `${name}: ${(100 * f.endedWithEos).toFixed(1)} % end with eos, median length ${f.medianLength} vs ${f.medianReferenceLength}, ROUGE-L ${f.rougeL.toFixed(4)}`,
        );
      }
    } finally {
      model.dispose();
    }
    const { eos, 'no-eos': noEos } = figures;
    const ratio = eos.medianLength / eos.medianReferenceLength;
    const checks = {
      endedWithEos: eos.endedWithEos >= ACCEPT.eosShare,
      medianLength: ratio >= ACCEPT.lengthRatio[0] && ratio <= ACCEPT.lengthRatio[1],
      rougeL: eos.rougeL >= noEos.rougeL,
    };
    await writeFile(join(work, 'eos-check.json'), `${JSON.stringify({ target: values.target, maxNewTokens, base, figures, ratio, checks }, null, 2)}\n`);
    console.log(
      `\nEOS check, ${values.target}: ${splits.train.length} training pairs, ${splits.test.length} test sources, greedy, ≤ ${maxNewTokens} new tokens`,
    );
    console.log('| run | end with eos | median length (tokens) | references | ROUGE-1 | ROUGE-2 | ROUGE-L |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, f] of Object.entries(figures)) {
      console.log(
        `| ${name} | ${(100 * f.endedWithEos).toFixed(1)} % | ${f.medianLength} | ${f.medianReferenceLength} | ${f.rouge1.toFixed(4)} | ${f.rouge2.toFixed(4)} | ${f.rougeL.toFixed(4)} |`,
      );
    }
    console.log(
      `checks: ≥ 90 % end with eos ${checks.endedWithEos ? 'pass' : 'FAIL'}; median ${ratio.toFixed(2)} × the references' ${checks.medianLength ? 'pass' : 'FAIL'}; ROUGE-L ≥ no-eos run ${checks.rougeL ? 'pass' : 'FAIL'} (${join(work, 'eos-check.json')})`,
    );
    return Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    backend.dispose();
  }
}

/**
 * Greedy summaries of `pages`' sources with `adapter`, from the prompts the
 * experiment scores (`scorePages`: the source cut as training cuts it in
 * `maxLength` tokens, so that generation starts where the model was trained
 * to write a summary), up to `maxNewTokens` or the eos, and what they measure.
 */
async function greedyFigures(
  model: CausalLM,
  adapter: ReturnType<typeof uploadAdapter>,
  pages: readonly PageRecord[],
  maxLength: number,
  maxNewTokens: number,
): Promise<RunFigures> {
  const tokenizer = new ByteTokenizer();
  const stopTokens = stopTokenIds(tokenizer);
  const predictions: string[] = [];
  const lengths: number[] = [];
  const stopped: boolean[] = [];
  for (const example of encodePages(pages, tokenizer, maxLength)) {
    const { tokens, finishReason } = await generate(model, promptIds(example), { maxNewTokens, adapters: [adapter], stopTokens });
    stopped.push(finishReason === 'stop');
    lengths.push(tokens.length - (finishReason === 'stop' ? 1 : 0));
    predictions.push(tokenizer.decode(tokens));
  }
  const scores = rougeCorpus(
    predictions,
    pages.map((p) => p.summary),
    'words',
  );
  return {
    endedWithEos: mean(stopped.map(Number)),
    medianLength: median(lengths),
    medianReferenceLength: median(pages.map((p) => tokenizer.encode(p.summary).length)),
    rouge1: scores.rouge1,
    rouge2: scores.rouge2,
    rougeL: scores.rougeL,
    predictions,
  };
}
