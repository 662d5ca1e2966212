import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ByteTokenizer,
  LoraFuseError,
  encodeRecord,
  expectedModelWeights,
  initLoraAdapter,
  mostTargets,
  parseModelConfig,
  planMemory,
  saveAdapter,
  type BackendMemoryPeaks,
  type ErrorCode,
  type MemoryPlan,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand } from '../args.js';
import { createBenchBackend } from '../bench/backend.js';
import { runTorchMemory, type TorchMemoryResult } from '../bench/memory-torch.js';
import { MODEL_SHAPES } from '../bench/model-shapes.js';
import { writeRandomCheckpoint } from '../bench/random-checkpoint.js';
import { findPython } from '../bench/train-torch.js';
import { describePeaks, jsonLine, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { AdaptSummary } from './adapt-report.js';
import { baseDtypeOf, checkpointingOf } from './model-data.js';

const RANK = 8;
const ALPHA = 16;
const TARGETS = ['q_proj', 'v_proj'];
/** The target adapter and four related ones. */
const ADAPTERS = 5;
const SEQ = 256;
/** Optimizer steps: the training set holds this many batches. */
const STEPS = 3;
/** Micro-batch per config: what the acceptance measures each at. */
const BATCH: Readonly<Record<string, number>> = { smol: 4, smol360: 8, qwen05: 4, qwen15: 4, llama1b: 1 };
const BACKENDS = ['wasm', 'webgpu', 'reference'];

/** Usage of `lorafuse bench memory`. */
export const BENCH_MEMORY_USAGE = `Usage: lorafuse bench memory --config ${Object.keys(MODEL_SHAPES).join('|')} [--batch-size n]
                             [--base-dtype f32|bf16|f16] [--checkpointing auto|layers|none]
                             [--backend wasm|webgpu|reference] [--json]

Writes a random-init checkpoint of the config's shapes (bf16, no download:
SmolLM2-135M and -360M, Qwen2.5-0.5B and -1.5B, Llama-3.2-1B), a target and
${ADAPTERS - 1} related LoRA adapters (r ${RANK} on ${TARGETS.join(', ')}) and ${STEPS} batches of ${SEQ}-token training pairs,
then runs \`lorafuse adapt\` on them in a process of its own (${STEPS} optimizer steps, the default
norm refresh) and reports the memory plan of the run, the backend's measured peaks (wasm: bytes in
use and top), the process's max RSS and tokens/s. Where Python with torch, transformers and
peft is found, PyTorch + PEFT trains the same checkpoint in the same run on CPU (bf16 base,
f32 LoRA of rank ${ADAPTERS * RANK}, the cat merge of the adapters, gradient_checkpointing_enable(),
the same batch, as many threads) and its max RSS, tokens/s and the ratios are reported too.
  --batch-size  examples per step (default: smol 4, smol360 8, qwen05 4, qwen15 4, llama1b 1)
  --json        one line {"bench":"memory","config","backend","batch","seq","plan_bytes",
                "peak_bytes_in_use","peak_top","max_rss_bytes","tokens_per_s",…,"torch":{…}}
`;

/** Replaceable parts of the bench, for tests. */
export interface BenchMemoryHooks {
  /** The model shapes `--config` names; default {@link MODEL_SHAPES}. */
  readonly configs?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The Python to run PyTorch with, or `undefined` for none; default `findPython`. */
  readonly python?: () => string | undefined;
}

/** Runs `lorafuse bench memory`. */
export async function benchMemory(argv: string[], io: CliIO, hooks: BenchMemoryHooks = {}): Promise<number> {
  const parsed = parseCommand('bench memory', argv, {
    config: { type: 'string' },
    'batch-size': { type: 'string' },
    'base-dtype': { type: 'string' },
    checkpointing: { type: 'string' },
  });
  const configs: Readonly<Record<string, Readonly<Record<string, unknown>>>> = hooks.configs ?? MODEL_SHAPES;
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `bench memory: ${why} See \`lorafuse bench memory --help\`.`);
  const name = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
  const shape = name === undefined ? undefined : configs[name];
  if (!shape || name === undefined) throw usage(`--config must be one of ${Object.keys(configs).join(', ')}.`);
  const backendName = typeof parsed.values.backend === 'string' ? parsed.values.backend : 'wasm';
  if (!BACKENDS.includes(backendName)) throw usage(`--backend must be ${BACKENDS.join(', ')}, got ${backendName}.`);
  const batch = parsed.values['batch-size'] === undefined ? (BATCH[name] ?? 1) : Number(parsed.values['batch-size']);
  if (!Number.isSafeInteger(batch) || batch < 1) throw usage(`--batch-size must be a positive integer, got ${String(parsed.values['batch-size'])}.`);
  const { baseDtype } = baseDtypeOf('bench memory', parsed);
  const { checkpointing = 'auto' } = checkpointingOf('bench memory', parsed);
  const quiet = parsed.values.quiet === true;
  const say = (line: string) => {
    if (!quiet) io.err(`bench memory: ${line}\n`);
  };
  // The adapt process's backend has the machine's threads (at most 8); PyTorch gets as many.
  const threads = backendName === 'wasm' ? Math.min(availableParallelism(), 8) : 1;

  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-bench-memory-'));
  try {
    say(`writing a random ${name} checkpoint, ${ADAPTERS} adapters and ${STEPS * batch} pairs to ${dir}…`);
    const inputs = await writeInputs(dir, shape, batch);
    const plan = await planRun(backendName, threads, shape, batch, inputs.targetTokens, baseDtype, checkpointing);
    say(
      `plan: ${describePeaks({ bytesInUse: plan.peakBytes })} (${plan.settings.checkpointing === 'layers' ? 'checkpointed layers' : 'no checkpointing'}); running lorafuse adapt…`,
    );
    const ours = await runAdapt(dir, inputs, backendName, batch, baseDtype, checkpointing);
    let torch: TorchMemoryResult | undefined;
    const python = (hooks.python ?? findPython)();
    if (python === undefined) say('skipped PyTorch: no Python with torch, transformers and peft (set LORAFUSE_PYTHON).');
    else {
      say(`running PyTorch + PEFT with ${python}…`);
      try {
        torch = await runTorchMemory(python, {
          model: inputs.model,
          batch,
          seq: SEQ,
          rank: ADAPTERS * RANK,
          alpha: ADAPTERS * ALPHA,
          targets: TARGETS,
          steps: STEPS,
          threads,
        });
      } catch (error) {
        say(`skipped PyTorch: ${(error as Error).message}`);
      }
    }
    const line = {
      bench: 'memory',
      config: name,
      parameters: inputs.parameters,
      backend: backendName,
      threads,
      batch,
      seq: SEQ,
      steps: STEPS,
      adapters: ADAPTERS,
      r: RANK,
      targets: TARGETS.join(','),
      base_dtype: plan.settings.baseDtype,
      checkpointing: plan.settings.checkpointing,
      plan_bytes: plan.peakBytes,
      plan_fits: plan.fits,
      peak_bytes_in_use: ours.memory?.bytesInUse ?? null,
      peak_top: ours.memory?.top ?? null,
      plan_vs_measured: ours.memory ? plan.peakBytes / ours.memory.bytesInUse : null,
      max_rss_bytes: ours.maxRssBytes,
      tokens_per_s: ours.tokensPerSecond,
      ...(torch
        ? {
            torch: { max_rss_bytes: torch.maxRssBytes, tokens_per_s: torch.tokensPerSecond, threads, versions: torch.versions },
            rss_vs_torch: ours.maxRssBytes / torch.maxRssBytes,
            tokens_vs_torch: ours.tokensPerSecond / torch.tokensPerSecond,
          }
        : {}),
    };
    io.out(parsed.values.json ? jsonLine(line) : render(line));
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Inputs {
  readonly model: string;
  readonly adapters: readonly string[];
  readonly train: string;
  readonly parameters: number;
  /** The most summary tokens (the positions with a loss) one batch holds, as adapt encodes the pairs. */
  readonly targetTokens: number;
}

/** The checkpoint, the adapters (seeded, B random so that every factor trains) and `STEPS · batch` pairs of `SEQ` byte tokens. */
async function writeInputs(dir: string, shape: Readonly<Record<string, unknown>>, batch: number): Promise<Inputs> {
  const model = join(dir, 'model');
  await nodeFolder(model).write('.keep', [new Uint8Array()]);
  const parameters = await writeRandomCheckpoint(model, shape);
  const weights = new Map(expectedModelWeights(parseModelConfig(shape)).map((w) => [w.name, { shape: w.shape }]));
  const adapters: string[] = [];
  for (let i = 0; i < ADAPTERS; i++) {
    const folder = join(dir, `adapter-${i}`);
    await saveAdapter(nodeFolder(folder), initLoraAdapter(weights, { r: RANK, alpha: ALPHA, targets: TARGETS, seed: i }));
    adapters.push(folder);
  }
  const train = join(dir, 'train.jsonl');
  const words = ['list', 'copy', 'move', 'remove', 'print', 'files', 'directories', 'options', 'output', 'standard'];
  const pairs = Array.from({ length: STEPS * batch }, (_, i) => ({
    source: Array.from({ length: 200 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '),
    summary: `${words[i % words.length]} ${words[(i + 3) % words.length]} and more`,
  }));
  await writeFile(train, `${pairs.map((p) => JSON.stringify(p)).join('\n')}\n`);
  // The folder has no tokenizer.json: adapt encodes with the byte-level tokenizer, as here.
  const tokenizer = new ByteTokenizer();
  const examples = pairs.map((p) => encodeRecord({ kind: 'pair', ...p }, tokenizer, { maxLength: SEQ }));
  return { model, adapters, train, parameters, targetTokens: mostTargets(examples, batch) };
}

/** The plan `lorafuse adapt` makes of the run (its checkpointing decided as adapt's `auto` does). */
async function planRun(
  backendName: string,
  threads: number,
  shape: Readonly<Record<string, unknown>>,
  batch: number,
  targetTokens: number,
  baseDtype: 'f32' | 'bf16' | 'f16' | undefined,
  checkpointing: 'none' | 'layers' | 'auto',
): Promise<MemoryPlan> {
  const backend = await createBenchBackend(backendName, { threads });
  try {
    const config = parseModelConfig(shape);
    const plan = (mode: 'none' | 'layers') =>
      planMemory(config, {
        ...(backend.memoryTraits ? { backend: backend.memoryTraits } : {}),
        batchSize: batch,
        maxLength: SEQ,
        targetTokens,
        adapters: ADAPTERS,
        rank: RANK,
        targets: TARGETS,
        baseDtype: baseDtype ?? 'bf16',
        adapt: { normSource: 'dataset' },
        checkpointing: mode,
      });
    const first = plan(checkpointing === 'layers' ? 'layers' : 'none');
    if (checkpointing !== 'auto' || first.fits) return first;
    const checkpointed = plan('layers');
    return checkpointed.fits ? checkpointed : first;
  } finally {
    await backend.dispose();
  }
}

/** What the adapt process reported: its summary's peaks and rate, and its max RSS. */
interface AdaptRun {
  readonly memory?: BackendMemoryPeaks;
  readonly tokensPerSecond: number;
  readonly maxRssBytes: number;
}

/** The built command line's entry (packages/cli/dist/bin.js). */
const BIN = fileURLToPath(new URL(import.meta.url.includes('/src/') ? '../../dist/bin.js' : './bin.js', import.meta.url));

/**
 * Runs `lorafuse adapt` on the inputs in a process of its own, whose
 * `process.resourceUsage().maxRSS` a preloaded module writes to a file as
 * it exits: the whole run's resident-memory high-water mark.
 */
async function runAdapt(dir: string, inputs: Inputs, backend: string, batch: number, baseDtype: string | undefined, checkpointing: string): Promise<AdaptRun> {
  const rssFile = join(dir, 'max-rss');
  const reporter = `data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(${JSON.stringify(rssFile)},String(process.resourceUsage().maxRSS*1024)))`;
  const [target, ...related] = inputs.adapters;
  const args = [
    '--import',
    reporter,
    BIN,
    'adapt',
    '--model',
    inputs.model,
    '--target',
    target,
    ...related.flatMap((r) => ['--related', r]),
    '--train',
    inputs.train,
    '--out',
    join(dir, 'adapted'),
    '--backend',
    backend,
    '--batch-size',
    String(batch),
    '--max-length',
    String(SEQ),
    '--epochs',
    '1',
    '--accumulation',
    '1',
    '--checkpointing',
    checkpointing,
    ...(baseDtype ? ['--base-dtype', baseDtype] : []),
    '--json',
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    child.on('error', fail);
    child.on('close', (exit) => done({ code: exit, stdout: out, stderr: err }));
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0) {
    // With --json the command prints its error as {"error":{"code","message"}}: keep its code (OUT_OF_MEMORY…).
    const error = (JSON.parse(last || '{}') as { error?: { code: ErrorCode; message: string } }).error;
    const why = error?.message ?? stderr.trim().split('\n').at(-1) ?? '';
    if (error) throw new LoraFuseError(error.code, `bench memory: lorafuse adapt failed: ${why}`, { details: { exit: code } });
    throw new Error(`bench memory: lorafuse adapt failed (exit ${code}): ${why}`);
  }
  const summary = JSON.parse(last) as AdaptSummary;
  return { memory: summary.memory, tokensPerSecond: summary.tokensPerSecond ?? 0, maxRssBytes: Number(await readFile(rssFile, 'utf8')) };
}

type Line = Record<string, unknown>;

function render(line: Line): string {
  const gib = (n: unknown) => (typeof n === 'number' ? `${(n / 2 ** 30).toFixed(2)} GiB` : '-');
  const torch = line.torch as Line | undefined;
  const rows: string[][] = [
    [
      'lorafuse adapt',
      String(line.backend),
      gib(line.plan_bytes),
      gib(line.peak_bytes_in_use),
      gib(line.peak_top),
      gib(line.max_rss_bytes),
      (line.tokens_per_s as number).toFixed(1),
    ],
    ...(torch ? [['PyTorch + PEFT', 'cpu', '-', '-', '-', gib(torch.max_rss_bytes), (torch.tokens_per_s as number).toFixed(1)]] : []),
  ];
  return (
    `Memory of ${line.steps} adapt steps, ${line.config} (${line.parameters} parameters, base ${line.base_dtype}, ` +
    `checkpointing ${line.checkpointing}), batch ${line.batch} × ${line.seq}, target + ${(line.adapters as number) - 1} related LoRAs r ${line.r} on ${line.targets}, ${line.threads} thread(s)\n\n` +
    table(['impl', 'backend', 'plan', 'peak in use', 'top', 'max RSS', 'tokens/s'], rows) +
    (line.plan_vs_measured === null ? '' : `\nplan ÷ measured peak: ${(line.plan_vs_measured as number).toFixed(3)}`) +
    (torch ? `; max RSS ${(line.rss_vs_torch as number).toFixed(2)}× PyTorch's, tokens/s ${(line.tokens_vs_torch as number).toFixed(2)}× PyTorch's` : '') +
    '\n'
  );
}
