import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { lineChartSvg, type Series } from '@lorafuse/demo';
import { jsonBytes } from '../packages/demo/src/files.js';
import type { ExperimentData } from './corpus.js';
import { METHODS, type Method, type MethodResult } from './methods.js';
import type { ExperimentOptions } from './options.js';
import type { ExperimentSettings } from './settings.js';
import { mean, pairedBootstrap, std, type BootstrapResult } from './statistics.js';

/** Mean and sample standard deviation over seeds. */
interface Spread {
  readonly mean: number;
  readonly std: number;
}

/** One method's row of a target's table. */
interface Row {
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
interface Comparison extends BootstrapResult {
  readonly baseline: Method;
  /** p < 0.05. */
  readonly beats: boolean;
}

const PROPOSED: Method = 'adaptive+prune';
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

const spread = (values: readonly number[]): Spread => ({ mean: mean(values), std: std(values) });
const cell = (s: Spread | null, digits = 2, scale = 100) => (s === null ? '–' : `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}`);

function rows(results: readonly MethodResult[]): Row[] {
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

function comparisons(results: readonly MethodResult[], settings: ExperimentSettings): Comparison[] {
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

function table(target: string, targetRows: readonly Row[], compared: readonly Comparison[], tokenization: string): string {
  const lines = [
    `### ${target} (ROUGE on ${tokenization}, ×100; mean ± std over ${targetRows[0]?.seeds ?? 0} seeds)`,
    '',
    '| method | ROUGE-1 | ROUGE-2 | ROUGE-L | test loss (nats) | sparsity (%) | fit (s) | test eval (s) |',
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

function devGridPlot(byTarget: ReadonlyMap<string, readonly MethodResult[]>): string {
  const panels = [...byTarget].map(([target, results]) => {
    const seeds = [...new Set(results.map((x) => x.seed))].sort((a, b) => a - b);
    const series: Series[] = seeds.flatMap((seed, i) => {
      const plain = results.find((x) => x.method === 'adaptive' && x.seed === seed);
      const pruned = results.find((x) => x.method === PROPOSED && x.seed === seed);
      if (!plain || !pruned) return [];
      const grid = pruned.details.grid as { ratio: number; devRougeL: number }[];
      const points = [[0, plain.details.devRougeL as number] as const, ...grid.map((g) => [g.ratio, g.devRougeL] as const)];
      return [{ label: `seed ${seed}`, color: COLORS[i % COLORS.length], points: points.map(([x, y]) => [x, y * 100] as const) }];
    });
    return { title: `${target}: dev ROUGE-L ×100`, series };
  });
  return lineChartSvg('Adaptive merge: dev ROUGE-L against the pruning ratio (0 = no pruning)', 'pruning ratio', panels);
}

function curvePlot(byTarget: ReadonlyMap<string, readonly MethodResult[]>): string {
  type Curve = { step: number; loss: number; sparsity: number }[];
  const pick = (results: readonly MethodResult[], method: Method) =>
    results.find((x) => x.method === method && x.seed === Math.min(...results.map((r) => r.seed)));
  const panels = [...byTarget].flatMap(([target, results]) => {
    const plain = pick(results, 'adaptive')?.details.curve as Curve | undefined;
    const pruned = pick(results, PROPOSED);
    const curve = pruned?.details.curve as Curve | undefined;
    if (!plain || !curve) return [];
    return [
      {
        title: `${target}: training loss`,
        series: [
          { label: 'adaptive', color: COLORS[0], points: plain.map((c) => [c.step, c.loss] as const) },
          { label: `+prune ${String(pruned!.details.ratio)}`, color: COLORS[1], points: curve.map((c) => [c.step, c.loss] as const) },
        ],
      },
      {
        title: `${target}: sparsity`,
        series: [{ label: `+prune ${String(pruned!.details.ratio)}`, color: COLORS[1], points: curve.map((c) => [c.step, c.sparsity] as const) }],
      },
    ];
  });
  return lineChartSvg('Adaptive merge training curves (first seed)', 'optimizer step', panels);
}

/** The command line without `--stage <name>`: the run that produces the whole report. */
function withoutStage(argv: readonly string[]): string[] {
  const i = argv.findIndex((a) => a === '--stage' || a.startsWith('--stage='));
  if (i < 0) return [...argv];
  return [...argv.slice(0, i), ...argv.slice(argv[i] === '--stage' ? i + 2 : i + 1)];
}

async function write(path: string, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/**
 * Writes the results under `options.out`: every method's per-seed JSON
 * (`<target>/seed-<n>/<method>.json`), `summary.json`, `results.md` (the
 * tables, the bootstrap comparisons, the data sizes and the exact command),
 * `dev-grid.svg` and `curves.svg`.
 */
export async function writeReport(
  options: ExperimentOptions,
  settings: ExperimentSettings,
  data: ExperimentData,
  results: readonly MethodResult[],
  argv: readonly string[],
): Promise<void> {
  const out = options.out;
  for (const r of results) await write(join(out, r.target, `seed-${r.seed}`, `${r.method}.json`), jsonBytes(r));
  const byTarget = new Map<string, MethodResult[]>();
  for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const summary = [...byTarget].map(([target, rs]) => ({ target, rows: rows(rs), comparisons: comparisons(rs, settings) }));
  await write(join(out, 'summary.json'), jsonBytes({ settings, summary }));
  const sizes = [...data.targets].map(([name, s]) => `${name} ${s.train.length}/${s.dev.length}/${s.test.length}`).join(', ');
  const related = [...data.related].map(([d, p]) => `${d} ${p.length}`).join(', ');
  const md = [
    '# Results',
    '',
    `Command: \`${['npm run experiment', ...(withoutStage(argv).length > 0 ? ['--', ...withoutStage(argv)] : [])].join(' ')}\` (${settings.name} settings; all stages, or one at a time with \`--stage\`).`,
    '',
    `Data: ${data.pretrain.length} pretraining texts; related pairs ${related}; target train/dev/test pages ${sizes}.`,
    '',
    ...summary.map((s) => table(s.target, s.rows, s.comparisons, byTarget.get(s.target)![0].tokenization)),
    '![dev ROUGE-L against the pruning ratio](dev-grid.svg)',
    '',
    '![training curves](curves.svg)',
    '',
  ].join('\n');
  await write(join(out, 'results.md'), md);
  await write(join(out, 'dev-grid.svg'), devGridPlot(byTarget));
  await write(join(out, 'curves.svg'), curvePlot(byTarget));
}
