import { LoraFuseError, Pruner, Tensor, type Backend, type PrunableModule } from '@lorafuse/core';
import { parseCommand } from '../args.js';
import { jsonLine, table } from '../format.js';
import type { CliIO } from '../io.js';
import { selectCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { median } from '../bench/stats.js';

/** LoRA r=8 on q_proj and v_proj of the DESIGN §6 benchmark configs: [in, out] per module. */
const CONFIGS: Readonly<Record<string, { layers: number; shapes: readonly (readonly [number, number])[] }>> = {
  tiny: {
    layers: 4,
    shapes: [
      [256, 256],
      [256, 128],
    ],
  },
  smol: {
    layers: 30,
    shapes: [
      [576, 576],
      [576, 192],
    ],
  },
};
const RANK = 8;
const METRICS = ['lora', 'magnitude'] as const;

/** Usage of `lorafuse bench prune`. */
export const BENCH_PRUNE_USAGE = `Usage: lorafuse bench prune [--backend name] [--config tiny|smol] [--metric lora|magnitude]
                            [--ratio r] [--repeats n] [--json]

Times one pruning step (importance + O(n) selection + mask, module grouping)
of LoRA r=8 factors on q_proj and v_proj of the config's shapes, on each
available backend (or --backend), against a host float64 baseline that
selects by a full sort (impl "sort-baseline"), measured in the same run.
  --config   tiny (default: hidden 256, 4 layers) or smol (SmolLM2-135M shapes)
  --metric   lora (default) or magnitude
  --ratio    pruning ratio, default 0.5
  --repeats  timed repetitions after one warm-up, default 5 (the median is reported)
  --json     JSON Lines: {"bench":"prune","impl","backend","params","median_ms","ms_per_mparam",…}
`;

interface HostModule {
  a: Float32Array;
  b: Float32Array;
  n: Float32Array;
  r: number;
  inF: number;
  out: number;
}

/** Runs `lorafuse bench prune`. */
export async function benchPrune(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommand('bench prune', argv, {
    config: { type: 'string' },
    metric: { type: 'string' },
    ratio: { type: 'string' },
    repeats: { type: 'string' },
  });
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `bench prune: ${why} See \`lorafuse bench prune --help\`.`);
  const configName = typeof values.config === 'string' ? values.config : 'tiny';
  const config = CONFIGS[configName];
  if (!config) throw usage(`--config must be ${Object.keys(CONFIGS).join(' or ')}, got ${configName}.`);
  const metric = typeof values.metric === 'string' ? values.metric : 'lora';
  if (!(METRICS as readonly string[]).includes(metric)) throw usage(`--metric must be ${METRICS.join(' or ')}, got ${metric}.`);
  const ratio = values.ratio === undefined ? 0.5 : Number(values.ratio);
  if (!(ratio >= 0 && ratio <= 1)) throw usage(`--ratio must be in [0, 1], got ${String(values.ratio)}.`);
  const repeats = values.repeats === undefined ? 5 : Number(values.repeats);
  if (!Number.isSafeInteger(repeats) || repeats < 1) throw usage(`--repeats must be an integer ≥ 1, got ${String(values.repeats)}.`);

  const seed = parseSeed(values.seed);
  const modules = hostModules(config, seed);
  const params = modules.reduce((s, m) => s + m.a.length + m.b.length, 0);
  const common = { bench: 'prune', config: configName, metric, grouping: 'module', ratio, modules: modules.length, r: RANK, params, repeats };
  const baselineMs = median(timed(repeats, () => sortBaseline(modules, metric, ratio)));
  const rows: Record<string, unknown>[] = [];
  const emit = (row: Record<string, unknown>) => {
    rows.push(row);
    if (values.json) io.out(jsonLine(row));
  };
  emit({ ...common, impl: 'sort-baseline', backend: 'host', median_ms: baselineMs, ms_per_mparam: baselineMs / (params / 1e6) });

  const plugins = cliPlugins(seed);
  const runtime = await cliRuntime(plugins);
  const names = typeof values.backend === 'string' && values.backend !== 'auto' ? [values.backend] : runtime.backends.names();
  for (const name of names) {
    let backend: Backend;
    try {
      backend = (await selectCliBackend(runtime, name)).backend;
    } catch (error) {
      if (names.length === 1) throw error;
      io.err(`bench prune: skipping ${name}: ${(error as Error).message.split('\n')[0]}\n`);
      continue;
    }
    const ms = await timeBackend(backend, plugins, modules, metric, ratio, repeats);
    emit({ ...common, impl: 'lorafuse', backend: backend.name, median_ms: ms, ms_per_mparam: ms / (params / 1e6), vs_sort_baseline: baselineMs / ms });
  }
  await runtime.dispose();
  if (!values.json) {
    io.out(
      `Pruning step, ${configName} (${modules.length} modules, r=${RANK}, ${params} parameters), metric ${metric}, ratio ${ratio}, median of ${repeats}\n\n` +
        table(
          ['impl', 'backend', 'median ms', 'ms / Mparam', 'vs sort'],
          rows.map((r) => [
            r.impl,
            r.backend,
            (r.median_ms as number).toFixed(3),
            (r.ms_per_mparam as number).toFixed(2),
            r.vs_sort_baseline === undefined ? '1' : `${(r.vs_sort_baseline as number).toFixed(2)}×`,
          ]),
        ),
    );
  }
  return 0;
}

function hostModules(config: (typeof CONFIGS)[string], seed: number): HostModule[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => next() * scale);
  return Array.from({ length: config.layers }).flatMap(() =>
    config.shapes.map(([inF, out]) => ({
      r: RANK,
      inF,
      out,
      a: fill(RANK * inF, 0.1),
      b: fill(out * RANK, 0.05),
      n: Float32Array.from(fill(inF, 3), Math.abs),
    })),
  );
}

function timed(repeats: number, run: () => void): number[] {
  run();
  return Array.from({ length: repeats }, () => {
    const t0 = performance.now();
    run();
    return performance.now() - t0;
  });
}

async function timeBackend(
  backend: Backend,
  plugins: ReturnType<typeof cliPlugins>,
  host: readonly HostModule[],
  metric: string,
  ratio: number,
  repeats: number,
): Promise<number> {
  const modules: PrunableModule[] = host.map((m, i) => ({
    name: `m${i}`,
    a: backend.upload(Tensor.f32([m.r, m.inF], m.a)),
    b: backend.upload(Tensor.f32([m.out, m.r], m.b)),
    inputNorms: backend.upload(Tensor.f32([m.inF], m.n)),
  }));
  const pruner = new Pruner({ backend, plugins, metric, ratio });
  const times: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    const t0 = performance.now();
    await pruner.prune(modules);
    await backend.sync();
    if (i > 0) times.push(performance.now() - t0);
  }
  pruner.dispose();
  return median(times);
}

/** The peer: float64 importance on the host, selection by a full sort (NaN first, ties by index), zeroing in place on copies. */
function sortBaseline(modules: readonly HostModule[], metric: string, ratio: number): void {
  for (const m of modules) {
    const a = Float64Array.from(m.a);
    const b = Float64Array.from(m.b);
    const [sa, sb] = metric === 'lora' ? loraScores(a, b, m) : [a.map(Math.abs), b.map(Math.abs)];
    zeroLowest(a, sa, ratio);
    zeroLowest(b, sb, ratio);
  }
}

/** `Σ_t x[i, t]·y[j, t]` for row-major `x` `[rows, inner]`, `y` `[cols, inner]`. */
function productT(x: Float64Array, y: Float64Array, rows: number, cols: number, inner: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let t = 0; t < inner; t++) out[i * cols + j] += x[i * inner + t] * y[j * inner + t];
  return out;
}

const transpose = (x: Float64Array, rows: number, cols: number) =>
  Float64Array.from({ length: rows * cols }, (_, i) => x[(i % rows) * cols + Math.floor(i / rows)]);

/** The method's importance as a dense re-implementation computes it: the full sign matrix of `W = B·A`, then two products. */
function loraScores(a: Float64Array, b: Float64Array, { r, inF, out, n }: HostModule): [Float64Array, Float64Array] {
  const aT = transpose(a, r, inF);
  const signs = productT(b, aT, out, inF, r).map(Math.sign);
  const scaledA = a.map((v, i) => v * n[i % inF]);
  const sa = productT(transpose(b, out, r), transpose(signs, out, inF), r, inF, out).map((v, i) => n[i % inF] * Math.abs(v));
  const sb = productT(signs, scaledA, out, r, inF).map(Math.abs);
  return [sa, sb];
}

function zeroLowest(values: Float64Array, scores: Float64Array, ratio: number): void {
  const order = Array.from(scores.keys()).sort((x, y) => {
    const nx = Number.isNaN(scores[x]);
    if (nx !== Number.isNaN(scores[y])) return nx ? -1 : 1;
    return scores[x] - scores[y] || x - y;
  });
  const k = Math.floor(ratio * values.length * (1 + 1e-12));
  for (let i = 0; i < k; i++) values[order[i]] = 0;
}
