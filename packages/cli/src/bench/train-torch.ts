import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** What the PyTorch + PEFT run is set up with: the same shapes, batch and LoRA as ours. */
export interface TorchTrainJob {
  /** The Llama `config.json` fields (transformers' `LlamaConfig` keyword arguments). */
  readonly model: Readonly<Record<string, unknown>>;
  readonly batch: number;
  readonly seq: number;
  readonly rank: number;
  readonly alpha: number;
  /** PEFT `target_modules`. */
  readonly targets: readonly string[];
  readonly threads: number;
  readonly lr: number;
  readonly seed: number;
  /** M×K×N of the matrix product timed on its own, next to our matmul. */
  readonly matmul: readonly [number, number, number];
}

/** What the PyTorch process reports once it is ready. */
interface TorchTrainInfo {
  /** `torch.get_num_threads()` during the run. */
  readonly threads: number;
  /** transformers' attention implementation (`sdpa` or `eager`). */
  readonly attn: string;
  readonly torch: string;
  readonly transformers: string;
  readonly peft: string;
}

/** A PyTorch + PEFT training run in its own process, driven one timed step at a time. */
export interface TorchTrainer {
  readonly info: TorchTrainInfo;
  /** Runs one optimizer step on fresh random ids and returns its wall time (ms). */
  step(): Promise<number>;
  /** Runs `torch.matmul` once on the job's shape and returns its wall time (ms). */
  matmul(): Promise<number>;
  /** Ends the process and removes its script. */
  close(): Promise<void>;
}

/**
 * The PyTorch side: LlamaForCausalLM from a LlamaConfig of the job's shape
 * (random init, f32, transformers' default attention), PEFT LoRA with
 * dropout 0, torch.optim.AdamW on the trainable parameters. Reads the job
 * as a JSON line on stdin and answers with a JSON line of versions; then
 * each `step` line runs forward with labels, backward, AdamW step and
 * zero_grad on fresh random ids, each `matmul` line one `torch.matmul` on
 * the job's shape, and each answers `{"ms": wall time}`.
 */
const TORCH_SCRIPT = String.raw`
import json, sys, time
job = json.loads(sys.stdin.readline())
import torch
torch.set_num_threads(job["threads"])
import peft, transformers
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(job["seed"])
fields = {k: v for k, v in job["model"].items() if k not in ("architectures", "model_type")}
config = LlamaConfig(**fields)
model = LlamaForCausalLM(config)
model = get_peft_model(model, LoraConfig(r=job["rank"], lora_alpha=job["alpha"], target_modules=job["targets"], lora_dropout=0.0))
model.train()
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=job["lr"])
generator = torch.Generator().manual_seed(job["seed"])
m, k, n = job["matmul"]
a, b = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1

def reply(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()

reply({
    "threads": torch.get_num_threads(),
    "attn": getattr(model.config, "_attn_implementation", None) or "eager",
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "peft": peft.__version__,
})
for line in sys.stdin:
    if line.strip() == "step":
        ids = torch.randint(0, config.vocab_size, (job["batch"], job["seq"]), generator=generator)
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    else:
        start = time.perf_counter()
        torch.matmul(a, b)
    reply({"ms": (time.perf_counter() - start) * 1000})
`;

/**
 * The Python to run PyTorch with: `$LORAFUSE_PYTHON`, else a `.venv-oracle`
 * environment in the working directory or its parent, else the cached one
 * that the repository's `scripts/oracle-python.sh` makes
 * (`${XDG_CACHE_HOME:-~/.cache}/lorafuse/oracle-venv`); `undefined` when
 * none exists.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const cache = env.LORAFUSE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lorafuse');
  const candidates = [
    env.LORAFUSE_PYTHON,
    join(cwd, '.venv-oracle/bin/python'),
    resolve(cwd, '../.venv-oracle/bin/python'),
    join(cache, 'oracle-venv/bin/python'),
  ];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/**
 * Starts {@link TORCH_SCRIPT} for `job` with `python` (written to a
 * temporary file) and waits until the model is built. Every answer must
 * come within `timeoutMs`; otherwise, or when the process fails or prints
 * something else, the promise rejects with an `Error` that carries the
 * last line of the script's stderr, and the process is ended.
 */
export async function startTorchTrainer(python: string, job: TorchTrainJob, timeoutMs: number): Promise<TorchTrainer> {
  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-bench-train-'));
  const script = join(dir, 'bench_train_torch.py');
  await writeFile(script, TORCH_SCRIPT);
  const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.on('error', () => {}); // an interpreter that exits without reading its input
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<string>((done) => {
    child.on('error', (error) => done(error.message));
    child.on('close', (code, signal) => done(`${python} exited with ${code ?? signal}: ${stderr.trim().split('\n').pop() || 'no message'}`));
  });
  const close = async () => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  const ask = async (command: string | undefined): Promise<Record<string, unknown>> => {
    if (command !== undefined) child.stdin.write(`${command}\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, fail) => (timer = setTimeout(() => fail(new Error(`${python} gave no answer within ${timeoutMs / 1000} s`)), timeoutMs)),
    );
    try {
      const next = await Promise.race([answers.next(), exited, timeout]);
      if (typeof next === 'string' || next.done) throw new Error(await exited);
      try {
        return JSON.parse(next.value) as Record<string, unknown>;
      } catch {
        throw new Error(`${python} printed ${JSON.stringify(next.value.slice(0, 200))}, not a JSON answer`);
      }
    } catch (error) {
      await close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  const timed = async (command: string) => {
    const { ms } = await ask(command);
    if (!(typeof ms === 'number' && ms > 0)) {
      await close();
      throw new Error(`${python} answered ${command} without a positive time`);
    }
    return ms;
  };
  child.stdin.write(JSON.stringify(job) + '\n');
  const info = (await ask(undefined)) as unknown as TorchTrainInfo;
  return { info, step: () => timed('step'), matmul: () => timed('matmul'), close };
}
