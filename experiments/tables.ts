import { METHODS, type Method, type MethodResult } from './methods.js';
import type { ExperimentSettings } from './settings.js';
import { mean, pairedBootstrap, std, type BootstrapResult } from './statistics.js';

/** Mean and sample standard deviation over seeds. */
interface Spread {
  readonly mean: number;
  readonly std: number;
}

/** One method's row of a target's table. */
export interface Row {
  readonly method: Method;
  readonly seeds: number;
  readonly rouge1: Spread;
  readonly rouge2: Spread;
  readonly rougeL: Spread;
  readonly loss: Spread;
  readonly sparsity: Spread | null;
  readonly fitSeconds: Spread;
  readonly evaluateSeconds: Spread;
}

/** Adaptive merge + pruning against one baseline, on ROUGE-L per test item averaged over the seeds. */
export interface Comparison extends BootstrapResult {
  readonly baseline: Method;
  /** p < 0.05. */
  readonly beats: boolean;
}

/** Headers of the wall-time columns, the only ones that differ between two runs of the same code (`experiment:check` skips them). */
export const TIMING_COLUMNS = ['fit (s)', 'test eval (s)'] as const;

/** The method every other is compared with. */
export const PROPOSED: Method = 'adaptive+prune';

const spread = (values: readonly number[]): Spread => ({ mean: mean(values), std: std(values) });
const cell = (s: Spread | null, digits = 2, scale = 100) => (s === null ? '–' : `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}`);

/** Mean ± std over the seeds of every method in `results`, in table order. */
export function rows(results: readonly MethodResult[]): Row[] {
  return METHODS.flatMap((method) => {
    const r = results.filter((x) => x.method === method);
    if (r.length === 0) return [];
    const sparsity = r.map((x) => x.sparsity).filter((x): x is number => x !== null);
    return [
      {
        method,
        seeds: r.length,
        rouge1: spread(r.map((x) => x.rouge1)),
        rouge2: spread(r.map((x) => x.rouge2)),
        rougeL: spread(r.map((x) => x.rougeL)),
        loss: spread(r.map((x) => x.loss)),
        sparsity: sparsity.length === r.length ? spread(sparsity) : null,
        fitSeconds: spread(r.map((x) => x.seconds.fit)),
        evaluateSeconds: spread(r.map((x) => x.seconds.evaluate)),
      },
    ];
  });
}

/** ROUGE-L of each test item, averaged over the seeds that ran `method` (items in test order). */
function itemScores(results: readonly MethodResult[], method: Method, seeds: readonly number[]): number[] | undefined {
  const runs = seeds.map((s) => results.find((x) => x.method === method && x.seed === s));
  if (runs.some((x) => x === undefined)) return undefined;
  return runs[0]!.items.map((_, i) => mean(runs.map((x) => x!.items[i].rougeL)));
}

/** Adaptive merge + pruning against each other method that ran on every seed it ran on. */
export function comparisons(results: readonly MethodResult[], settings: ExperimentSettings): Comparison[] {
  const seeds = [...new Set(results.map((x) => x.seed))].sort((a, b) => a - b);
  const proposed = itemScores(results, PROPOSED, seeds);
  if (!proposed) return [];
  return METHODS.filter((m) => m !== PROPOSED).flatMap((baseline) => {
    const other = itemScores(results, baseline, seeds);
    if (!other) return [];
    const b = pairedBootstrap(proposed, other, settings.bootstrapResamples, 0);
    return [{ baseline, ...b, beats: b.p < 0.05 }];
  });
}

/** A target's Markdown table and its comparisons. */
export function table(target: string, targetRows: readonly Row[], compared: readonly Comparison[], tokenization: string): string {
  const lines = [
    `### ${target} (ROUGE on ${tokenization}, ×100; mean ± std over ${targetRows[0]?.seeds ?? 0} seeds)`,
    '',
    `| method | ROUGE-1 | ROUGE-2 | ROUGE-L | test loss (nats) | sparsity (%) | ${TIMING_COLUMNS.join(' | ')} |`,
    '|---|---|---|---|---|---|---|---|',
    ...targetRows.map(
      (r) =>
        `| ${r.method} | ${cell(r.rouge1)} | ${cell(r.rouge2)} | ${cell(r.rougeL)} | ${cell(r.loss, 3, 1)} | ${cell(r.sparsity, 1)} | ${cell(r.fitSeconds, 0, 1)} | ${cell(r.evaluateSeconds, 0, 1)} |`,
    ),
    '',
  ];
  if (compared.length > 0) {
    lines.push(
      `Adaptive merge + pruning against each baseline (paired bootstrap over the test items' ROUGE-L averaged over the seeds, ${compared[0].resamples} resamples, one-sided):`,
      '',
      '| baseline | Δ ROUGE-L (×100) | p | beaten (p < 0.05) |',
      '|---|---|---|---|',
      ...compared.map((c) => `| ${c.baseline} | ${(c.difference * 100).toFixed(2)} | ${c.p.toFixed(4)} | ${c.beats ? 'yes' : 'no'} |`),
      '',
    );
  }
  return lines.join('\n');
}
