import { lineChartSvg, type Series } from '@lorafuse/demo';
import type { Method, MethodResult } from './methods.js';
import { PROPOSED } from './tables.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** Dev ROUGE-L against the pruning ratio, one panel per target, one line per seed. */
export function devGridPlot(byTarget: ReadonlyMap<string, readonly MethodResult[]>): string {
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

/** Training loss and sparsity of the adaptive merges (first seed), two panels per target. */
export function curvePlot(byTarget: ReadonlyMap<string, readonly MethodResult[]>): string {
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
