import {
  CausalLM,
  IGNORE_TARGET,
  LoraFuseError,
  adapt,
  freeAdapter,
  initLoraAdapter,
  initModelCheckpoint,
  parseModelConfig,
  philoxUniform,
  rngStreamId,
  train,
  uploadAdapter,
  type AdaptEvent,
  type Backend,
  type BackendMemoryPeaks,
  type DeviceAdapter,
  type Example,
  type ModelConfig,
  type NormSource,
  type TrainEvent,
} from '@lorafuse/core';
import { parseCommand } from '../args.js';
import { createBenchBackend } from '../bench/backend.js';
import { checkMatmulSample, randomMatrix } from '../bench/matmul-check.js';
import { lorafuseMatmul } from '../bench/matmul-impl.js';
import { measureSimdPeak } from '../bench/simd-peak.js';
import { median } from '../bench/stats.js';
import { TRAIN_BENCH_CONFIGS, type TrainBenchConfig } from '../bench/train-configs.js';
import { LORA_PROJECTIONS, representativeMatmul, trainStepFlops } from '../bench/train-flops.js';
import { findPython, startTorchTrainer, type TorchTrainer, type TorchTrainJob } from '../bench/train-torch.js';
import { describePeaks, humanCount, jsonLine, table } from '../format.js';
import type { CliIO } from '../io.js';
import { cliPlugins, parseSeed } from '../runtime.js';

const BACKENDS = ['wasm', 'webgpu', 'reference'];
const RANK = 8;
const ALPHA = 32;
/** Any rate will do for timing; a small one keeps the random model's loss finite. */
const LR = 1e-4;
/** Matmul runs after each training step of each implementation: their median over the timed steps is its matmul figure. */
const MATMUL_ROUNDS_PER_STEP = 3;
/** The longest wait for one answer of the PyTorch process (its start, a step): generous, smol on a loaded machine takes a minute. */
const TORCH_TIMEOUT_MS = 10 * 60_000;

/** Usage of `lorafuse bench train`. */
export const BENCH_TRAIN_USAGE = `Usage: lorafuse bench train --config tiny|smol --backend wasm|webgpu|reference [--simd plain|relaxed]
                            [--targets q_proj,v_proj|all] [--threads n] [--steps n] [--warmup n]
                            [--adapt [--related n] [--ratio r] [--norm-source running|dataset]] [--json]

Times LoRA fine-tuning (forward + backward + AdamW, core's train()) of a
random-init Llama of the config's shapes on random token ids, and reports
tokens/s from the median optimizer step after the warm-up steps. Between
the steps it times our matmul on the same backend and thread count for the
run's FFN product (tokens × hidden × intermediate). Where Python with torch,
transformers and peft is found ($LORAFUSE_PYTHON, else .venv-oracle/bin/python
in the working directory or its parent), it then runs the same training with
PyTorch + PEFT on CPU with torch.set_num_threads(threads), and torch.matmul
on the same product; without it, or when that run fails, that part is
reported and skipped.
  --config   tiny (hidden 256, 4 layers, FFN 688, vocab 4096, batch 8 × 256) or
             smol (SmolLM2-135M's shapes, batch 1 × 256); LoRA r=${RANK}, alpha=${ALPHA}
  --simd     wasm build: plain or relaxed (default relaxed; the command turns
             relaxed SIMD on under Node 20, where V8 has it behind a flag)
  --targets  comma-separated projections (default q_proj,v_proj), or all seven
  --threads  wasm threads, also PyTorch's (default 1)
  --steps    timed optimizer steps (default 5); --warmup untimed steps before them (default 2)
  --json     JSON Lines: the matmul, ours then PyTorch's, as \`bench matmul\` prints them
             ({"bench":"matmul",…,"ratio":{"torch":…}}), then the training, PyTorch's then ours:
             {"bench":"train","impl":"torch"|"lorafuse","backend","threads","config","targets",
             "batch","seq","tokens_per_s","median_step_ms","gflops",…}; ours adds "median_step_cpu_ms"
             (this process's CPU time over the step, all threads), "vs_matmul"
             (its GFLOP/s ÷ our matmul's) and "vs_torch" (its tokens/s ÷ PyTorch's); on wasm also
             "simd_peak_gflops" (independent f32x4 multiply-adds on registers, no memory traffic,
             on as many threads: the most any wasm kernel can do here) and "vs_simd_peak"
             (its GFLOP/s ÷ that peak); "peak_bytes_in_use" and, on wasm, "peak_top" (the highest
             address the arena handed out) or, on WebGPU, "peak_buffer_bytes": the backend's memory
             high-water marks over the run (training and our matmul rounds)
  --adapt    time the adaptive merge instead: a target and --related n adapters (default 4), the step
             of adapt() (training plus pruning by the lora metric to --ratio, default 0.5, norms from
             --norm-source, default running) against the plain training step of the same adapters,
             interleaved step by step; no PyTorch. Lines "impl":"lorafuse" (plain) and
             "impl":"lorafuse-adapt", which adds "vs_train" (its step time ÷ the plain step's),
             "median_step_cpu_ms" and "vs_train_cpu" (the same from this process's CPU time
             over each step, all threads: less swayed by other load on the machine)
`;

/** Replaceable parts of the bench, for tests. */
export interface BenchTrainHooks {
  /** The configs `--config` names; default {@link TRAIN_BENCH_CONFIGS}. */
  readonly configs?: Readonly<Record<string, TrainBenchConfig>>;
  /** The Python to run PyTorch with, or `undefined` for none; default {@link findPython}. */
  readonly python?: () => string | undefined;
  /** Measures the SIMD peak (wasm only); default {@link measureSimdPeak}. */
  readonly simdPeak?: (threads: number, relaxed: boolean) => Promise<number>;
}

interface Options {
  readonly configName: string;
  readonly spec: TrainBenchConfig;
  readonly backendName: string;
  /** wasm build, when asked for. */
  readonly simd: string | undefined;
  readonly targets: readonly string[];
  readonly threads: number;
  readonly steps: number;
  readonly warmup: number;
  readonly seed: number;
  readonly quiet: boolean;
  readonly json: boolean;
  /** Time adapt() against plain training of the same adapters. */
  readonly adapt?: { readonly related: number; readonly ratio: number; readonly normSource: NormSource };
}

/** Runs `lorafuse bench train`. */
export async function benchTrain(argv: string[], io: CliIO, hooks: BenchTrainHooks = {}): Promise<number> {
  const options = parseOptions(argv, hooks.configs ?? TRAIN_BENCH_CONFIGS);
  const { spec, threads, steps, warmup } = options;
  const config = parseModelConfig(spec.model);
  const flops = trainStepFlops(config, spec.batch, spec.seq, options.targets, RANK);
  const tokens = spec.batch * spec.seq;
  const shape = representativeMatmul(config, spec.batch, spec.seq);
  const [m, k, n] = shape;
  const common = {
    bench: 'train',
    threads,
    config: options.configName,
    targets: options.targets.join(','),
    batch: spec.batch,
    seq: spec.seq,
    r: RANK,
    alpha: ALPHA,
    steps,
    warmup,
  };

  const torch = options.adapt ? undefined : await startTorch(options, shape, hooks, io);
  let timings: Map<string, Timing>;
  let backendName: string;
  let device: string;
  let relaxed = false;
  let memory: BackendMemoryPeaks | undefined;
  try {
    const backend = await createBenchBackend(options.backendName, { simd: options.simd, threads });
    backendName = backend.name;
    device = backend.description;
    relaxed = (backend as { build?: unknown }).build === 'relaxed';
    try {
      timings = await withOurs(backend, config, options, io, (ours) =>
        timeRounds(ours.length > 1 ? ours : torch ? [...ours, torchContender(torch)] : ours, options, io),
      );
      memory = backend.memoryPeaks?.();
    } finally {
      await backend.dispose();
    }
  } finally {
    await torch?.close();
  }

  // Measured once the training has stopped, on as many threads, with the backend's build.
  const peak = backendName === 'wasm' ? await simdPeak(() => (hooks.simdPeak ?? measureSimdPeak)(threads, relaxed), io) : undefined;
  const gflops = (ms: number) => flops.total / (ms * 1e6);
  const matmulLine = (impl: string, backend: string, ms: number, lineThreads: number) => ({
    bench: 'matmul',
    impl,
    backend,
    threads: lineThreads,
    m,
    k,
    n,
    median_ms: ms,
    gflops: (2 * m * k * n) / (ms * 1e6),
  });
  const our = timings.get('lorafuse')!;
  const ourMatmul = matmulLine('lorafuse', backendName, our.matmulMs, threads);
  const ours = {
    ...common,
    impl: 'lorafuse',
    backend: backendName,
    device,
    ...(options.simd ? { simd: options.simd } : {}),
    ...rates(tokens, our.stepMs, gflops),
    median_step_cpu_ms: our.stepCpuMs,
    step_gflop: flops.total / 1e9,
    vs_matmul: gflops(our.stepMs) / ourMatmul.gflops,
    ...(peak === undefined ? {} : { simd_peak_gflops: peak, vs_simd_peak: gflops(our.stepMs) / peak }),
    ...memoryFields(memory),
  };
  const adapted = timings.get('lorafuse-adapt');
  if (adapted) {
    // The adapt step does the training step's work and more: its GFLOP/s count the training's FLOPs only.
    const line = {
      ...common,
      impl: 'lorafuse-adapt',
      backend: backendName,
      device,
      ...(options.simd ? { simd: options.simd } : {}),
      ...rates(tokens, adapted.stepMs, gflops),
      vs_train: adapted.stepMs / our.stepMs,
      // CPU time of this process (every thread) over each step: what a step costs, whatever else the machine runs.
      median_step_cpu_ms: adapted.stepCpuMs,
      vs_train_cpu: adapted.stepCpuMs! / our.stepCpuMs!,
      ...options.adapt,
    };
    return report([ourMatmul], [ours, line], io, options.json, flops.total);
  }
  const peer = timings.get('torch');
  if (!torch || !peer) return report([ourMatmul], [ours], io, options.json, flops.total);
  const { info } = torch;
  const versions = { torch: info.torch, transformers: info.transformers, peft: info.peft };
  const torchTrain = { ...common, impl: 'torch', backend: 'cpu', threads: info.threads, attn: info.attn, versions, ...rates(tokens, peer.stepMs, gflops) };
  return report(
    [{ ...ourMatmul, ratio: { torch: peer.matmulMs / our.matmulMs } }, matmulLine('torch', 'cpu', peer.matmulMs, info.threads)],
    [torchTrain, { ...ours, vs_torch: peer.stepMs / our.stepMs }],
    io,
    options.json,
    flops.total,
  );
}

function parseOptions(argv: string[], configs: Readonly<Record<string, TrainBenchConfig>>): Options {
  const { values } = parseCommand('bench train', argv, {
    config: { type: 'string' },
    simd: { type: 'string' },
    targets: { type: 'string' },
    threads: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    adapt: { type: 'boolean' },
    related: { type: 'string' },
    ratio: { type: 'string' },
    'norm-source': { type: 'string' },
  });
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `bench train: ${why} See \`lorafuse bench train --help\`.`);
  const configName = typeof values.config === 'string' ? values.config : 'tiny';
  const spec = configs[configName];
  if (!spec) throw usage(`--config must be ${Object.keys(configs).join(' or ')}, got ${configName}.`);
  const backendName = typeof values.backend === 'string' ? values.backend : 'wasm';
  if (!BACKENDS.includes(backendName)) throw usage(`--backend must be ${BACKENDS.join(', ')}, got ${backendName}.`);
  const simd = typeof values.simd === 'string' ? values.simd : undefined;
  if (simd !== undefined && (backendName !== 'wasm' || !['plain', 'relaxed'].includes(simd)))
    throw usage('--simd takes plain or relaxed, with --backend wasm only.');
  const targets =
    values.targets === 'all'
      ? [...LORA_PROJECTIONS]
      : typeof values.targets === 'string'
        ? values.targets.split(',').map((t) => t.trim())
        : ['q_proj', 'v_proj'];
  const unknown = targets.filter((t) => !(LORA_PROJECTIONS as readonly string[]).includes(t));
  if (unknown.length > 0 || targets.length === 0)
    throw usage(`--targets takes all or projections among ${LORA_PROJECTIONS.join(', ')}; got ${String(values.targets)}.`);
  const count = (name: string, fallback: number, min: number) => {
    const value = values[name] === undefined ? fallback : Number(values[name]);
    if (!Number.isSafeInteger(value) || value < min) throw usage(`--${name} must be an integer ≥ ${min}, got ${String(values[name])}.`);
    return value;
  };
  const threads = count('threads', 1, 1);
  if (threads > 1 && backendName !== 'wasm') throw usage('--threads takes more than 1 with --backend wasm only.');
  if (!values.adapt && [values.related, values.ratio, values['norm-source']].some((v) => v !== undefined))
    throw usage('--related, --ratio and --norm-source go with --adapt.');
  const ratio = values.ratio === undefined ? 0.5 : Number(values.ratio);
  if (!(ratio >= 0 && ratio <= 1)) throw usage(`--ratio must be in [0, 1], got ${String(values.ratio)}.`);
  const normSource = (values['norm-source'] ?? 'running') as NormSource;
  if (normSource !== 'running' && normSource !== 'dataset') throw usage(`--norm-source must be running or dataset, got ${normSource}.`);
  return {
    configName,
    spec,
    backendName,
    simd,
    targets,
    threads,
    steps: count('steps', 5, 1),
    warmup: count('warmup', 2, 0),
    seed: parseSeed(values.seed),
    quiet: values.quiet === true,
    json: values.json === true,
    ...(values.adapt ? { adapt: { related: count('related', 4, 0), ratio, normSource } } : {}),
  };
}

/** The backend's memory peaks as bench fields: `peak_bytes_in_use`, and wasm's `peak_top` or WebGPU's `peak_buffer_bytes`. */
function memoryFields(memory: BackendMemoryPeaks | undefined): Record<string, number> {
  if (!memory) return {};
  return {
    peak_bytes_in_use: memory.bytesInUse,
    ...(memory.top === undefined ? {} : { peak_top: memory.top }),
    ...(memory.bufferBytes === undefined ? {} : { peak_buffer_bytes: memory.bufferBytes }),
  };
}

const rates = (tokens: number, ms: number, gflops: (ms: number) => number) => ({ tokens_per_s: (tokens * 1000) / ms, median_step_ms: ms, gflops: gflops(ms) });

/** `warmup + steps` · batch sequences of uniform random ids, each predicting its next token. */
function randomExamples(vocab: number, count: number, seq: number, seed: number): Example[] {
  const stream = rngStreamId('bench.train.ids');
  return Array.from({ length: count }, (_, row) => {
    const ids = Array.from({ length: seq }, (_, i) => Math.floor(philoxUniform(seed, stream, row * seq + i) * vocab));
    return { ids, targets: ids.map((_, i) => (i + 1 < seq ? ids[i + 1] : IGNORE_TARGET)) };
  });
}

/** One implementation in the timing loop: ours, or PyTorch's in its own process. */
interface Contender {
  /** The `impl` of its lines. */
  readonly impl: string;
  /** A failure drops it from the run (reported on stderr) instead of ending the bench. */
  readonly optional: boolean;
  /** Runs one optimizer step and returns its wall time and, for ours, this process's CPU time over it (ms). */
  step(): Promise<StepTime>;
  /** Runs the representative matmul once and returns its wall time (ms). */
  matmul(): Promise<number>;
}

/** What one step took (ms): wall time, and CPU time where it is this process's to count. */
interface StepTime {
  readonly wall: number;
  readonly cpu?: number;
}

/** A contender's medians over the timed steps (`stepCpuMs` where its steps report CPU time). */
interface Timing {
  readonly stepMs: number;
  readonly stepCpuMs?: number;
  readonly matmulMs: number;
}

/**
 * Runs our training on a random-init model of `config` as contenders handed
 * to `use`: each step is the next optimizer step of core's `train()` (batch
 * building, forward, backward, AdamW), each matmul round our matmul of the
 * run's representative shape on the same backend, checked against float64
 * on a sample. With `--adapt`, two contenders on the same model and data:
 * `train()` and `adapt()` of a target and the related adapters, each on its
 * own copies. Frees everything when `use` is done.
 */
async function withOurs<T>(backend: Backend, config: ModelConfig, options: Options, io: CliIO, use: (ours: Contender[]) => Promise<T>): Promise<T> {
  const { spec, warmup, steps, seed } = options;
  if (!options.quiet)
    io.err(`bench train: initialising ${options.configName} on ${backend.name} (${options.threads} thread${options.threads === 1 ? '' : 's'})…\n`);
  const [m, k, n] = representativeMatmul(config, spec.batch, spec.seq);
  const a = randomMatrix(m * k, seed * 2 + 1);
  const b = randomMatrix(k * n, seed * 2 + 2);
  const prepared = await lorafuseMatmul(backend, options.threads).prepare(a, b, m, k, n);
  const model = await CausalLM.load(backend, await initModelCheckpoint(config, { seed }));
  // One step more than timed: train() runs a step ahead, so its last step's event comes at once, and no timed step may be the last.
  const examples = randomExamples(config.vocabSize, (warmup + steps + 1) * spec.batch, spec.seq, seed);
  const matmul = async () => {
    const t0 = performance.now();
    const c = await prepared.run();
    const ms = performance.now() - t0;
    checkMatmulSample('lorafuse', a, b, c, m, k, n);
    return ms;
  };
  const adapterSet = () =>
    Array.from({ length: 1 + (options.adapt?.related ?? 0) }, (_, i) =>
      uploadAdapter(backend, initLoraAdapter(model.weights, { r: RANK, alpha: ALPHA, targets: options.targets, seed: seed + i })),
    );
  const runs: Array<{ adapters: DeviceAdapter[]; events: AsyncGenerator<TrainEvent | AdaptEvent> }> = [];
  const run = { train: examples, padId: 0, batchSize: spec.batch, seed };
  const plain = adapterSet();
  runs.push({ adapters: plain, events: train(backend, model, { ...run, adapters: plain, schedule: { lr: LR }, loraDropout: 0 }) });
  const contenders: Contender[] = [contender('lorafuse', runs[0].events, 'step', matmul)];
  if (options.adapt) {
    const pruned = adapterSet();
    const { ratio, normSource } = options.adapt;
    const events = adapt(backend, model, {
      ...run,
      adapters: pruned,
      ratio,
      normSource,
      metric: 'lora',
      plugins: cliPlugins(seed),
      accumulation: 1,
      epochs: 1,
      lr: LR,
      loraDropout: 0,
    });
    runs.push({ adapters: pruned, events });
    contenders.push(contender('lorafuse-adapt', events, 'prune', matmul));
  }
  try {
    return await use(contenders);
  } finally {
    for (const r of runs) {
      await r.events.return(undefined);
      for (const adapter of r.adapters) freeAdapter(backend, adapter);
    }
    model.dispose();
    prepared.free();
  }
}

/** A run of ours as a contender: a step lasts until the run's next event of type `until`. */
function contender(impl: string, events: AsyncGenerator<TrainEvent | AdaptEvent>, until: 'step' | 'prune', matmul: () => Promise<number>): Contender {
  return {
    impl,
    optional: false,
    async step() {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      for (let next = await events.next(); !next.done; next = await events.next()) {
        if (next.value.type !== until) continue;
        const { user, system } = process.cpuUsage(cpu0);
        return { wall: performance.now() - t0, cpu: (user + system) / 1000 };
      }
      throw new Error('bench train: the training run ended before its last step (a bug: it has one batch per step).');
    },
    matmul,
  };
}

/** The PyTorch process as a contender. */
function torchContender(torch: TorchTrainer): Contender {
  return { impl: 'torch', optional: true, step: async () => ({ wall: await torch.step() }), matmul: () => torch.matmul() };
}

/**
 * Times the contenders in one loop: each round runs every contender's step
 * in turn, each followed by {@link MATMUL_ROUNDS_PER_STEP} runs of its
 * matmul, so that all of them see the same load from elsewhere on the
 * machine; the first `warmup` rounds are not counted. Returns each
 * surviving contender's medians by `impl`.
 */
async function timeRounds(contenders: readonly Contender[], options: Options, io: CliIO): Promise<Map<string, Timing>> {
  const { warmup, steps } = options;
  const times = new Map(contenders.map((c) => [c, { steps: [] as number[], cpu: [] as number[], matmuls: [] as number[] }]));
  const drop = (c: Contender, error: unknown) => {
    if (!c.optional) throw error;
    io.err(`bench train: skipped ${c.impl}: ${(error as Error).message}\n`);
    times.delete(c);
  };
  for (const c of contenders) await c.matmul().catch((error: unknown) => drop(c, error)); // untimed: the first run on a cold engine
  for (let round = 1; round <= warmup + steps; round++) {
    const notes: string[] = [];
    for (const [c, t] of times) {
      try {
        const { wall, cpu } = await c.step();
        const products: number[] = [];
        for (let i = 0; i < MATMUL_ROUNDS_PER_STEP; i++) products.push(await c.matmul());
        if (round > warmup) {
          t.steps.push(wall);
          if (cpu !== undefined) t.cpu.push(cpu);
          t.matmuls.push(...products);
        }
        notes.push(`${c.impl} ${wall.toFixed(0)} ms${cpu === undefined ? '' : ` (CPU ${cpu.toFixed(0)} ms)`} (matmul ${median(products).toFixed(1)} ms)`);
      } catch (error) {
        drop(c, error);
      }
    }
    if (!options.quiet) io.err(`bench train: step ${round}/${warmup + steps}${round <= warmup ? ' (warm-up)' : ''}: ${notes.join(', ')}\n`);
  }
  return new Map(
    [...times].map(([c, t]) => [c.impl, { stepMs: median(t.steps), ...(t.cpu.length > 0 ? { stepCpuMs: median(t.cpu) } : {}), matmulMs: median(t.matmuls) }]),
  );
}

/** The SIMD peak `measure` gives, or `undefined` (reported on stderr) when it fails: the peak is context, not the bench. */
async function simdPeak(measure: () => Promise<number>, io: CliIO): Promise<number | undefined> {
  try {
    return await measure();
  } catch (error) {
    io.err(`bench train: skipped the SIMD peak: ${(error as Error).message}\n`);
    return undefined;
  }
}

/** The PyTorch + PEFT process, ready to train, or `undefined` (reported on stderr) when Python is missing or fails to start it. */
async function startTorch(options: Options, matmul: readonly [number, number, number], hooks: BenchTrainHooks, io: CliIO): Promise<TorchTrainer | undefined> {
  const python = (hooks.python ?? findPython)();
  if (python === undefined) {
    io.err('bench train: skipped torch: no Python found (set LORAFUSE_PYTHON to a Python with torch, transformers and peft, or run `npm run fixtures`).\n');
    return undefined;
  }
  const { spec, targets, threads, seed } = options;
  const job: TorchTrainJob = { model: spec.model, batch: spec.batch, seq: spec.seq, rank: RANK, alpha: ALPHA, targets, threads, lr: LR, seed, matmul };
  if (!options.quiet) io.err(`bench train: starting PyTorch + PEFT with ${python}…\n`);
  try {
    return await startTorchTrainer(python, job, TORCH_TIMEOUT_MS);
  } catch (error) {
    io.err(`bench train: skipped torch: ${(error as Error).message}\n`);
    return undefined;
  }
}

type Line = Record<string, unknown>;

/** Prints the matmul lines (ours first), then the training lines (ours last). */
function report(matmul: readonly Line[], training: readonly Line[], io: CliIO, json: boolean, stepFlops: number): number {
  if (json) {
    for (const line of [...matmul, ...training]) io.out(jsonLine(line));
    return 0;
  }
  const adapted = training.find((l) => l.impl === 'lorafuse-adapt');
  const ours = training.find((l) => l.impl === 'lorafuse')!;
  const fixed = (x: unknown, digits: number) => (x as number).toFixed(digits);
  io.out(
    `LoRA training, ${ours.config} (batch ${ours.batch} × ${ours.seq}, r=${RANK} on ${ours.targets}), ${ours.threads} thread(s), median of ${ours.steps} steps after ${ours.warmup} warm-up; ${humanCount(stepFlops)} FLOP per step\n\n` +
      table(
        ['impl', 'backend', 'tokens/s', 'median step ms', 'GFLOP/s'],
        training.map((l) => [l.impl, l.backend, fixed(l.tokens_per_s, 1), fixed(l.median_step_ms, 1), fixed(l.gflops, 2)]),
      ) +
      `\nMatmul ${matmul[0].m}×${matmul[0].k}×${matmul[0].n}\n\n` +
      table(
        ['impl', 'backend', 'median ms', 'GFLOP/s'],
        matmul.map((l) => [l.impl, l.backend, fixed(l.median_ms, 2), fixed(l.gflops, 2)]),
      ) +
      `\nTraining runs at ${fixed((ours.vs_matmul as number) * 100, 0)} % of our matmul GFLOP/s` +
      (ours.vs_simd_peak === undefined
        ? ''
        : `, ${fixed((ours.vs_simd_peak as number) * 100, 0)} % of the SIMD peak (${fixed(ours.simd_peak_gflops, 1)} GFLOP/s: multiply-adds on registers alone, ${ours.threads} thread(s))`) +
      (ours.vs_torch === undefined ? '.\n' : `, at ${fixed(ours.vs_torch, 2)}× PyTorch + PEFT's tokens/s.\n`) +
      (adapted
        ? `The adapt step (training + pruning by the lora metric to ${adapted.ratio}, ${adapted.normSource} norms, target + ${adapted.related} related adapters) takes ${fixed(adapted.vs_train, 3)}× the plain training step of the same adapters (${fixed(adapted.vs_train_cpu, 3)}× in CPU time).\n`
        : '') +
      (ours.peak_bytes_in_use === undefined
        ? ''
        : `Memory on ${ours.backend}: ${describePeaks({
            bytesInUse: ours.peak_bytes_in_use as number,
            ...(ours.peak_top === undefined ? {} : { top: ours.peak_top as number }),
            ...(ours.peak_buffer_bytes === undefined ? {} : { bufferBytes: ours.peak_buffer_bytes as number }),
          })}.\n`),
  );
  return 0;
}
