import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the PyTorch + PEFT side of `bench memory` trains: the checkpoint folder ours trains, the same batches and LoRA parameters. */
export interface TorchMemoryJob {
  /** The model folder (bf16 safetensors, as ours loads it). */
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  /** One LoRA of this rank stands for our target and related adapters: their exact `cat` merge has the same parameters and products. */
  readonly rank: number;
  readonly alpha: number;
  readonly targets: readonly string[];
  readonly steps: number;
  readonly threads: number;
}

/** What the PyTorch process reports. */
export interface TorchMemoryResult {
  /** `ru_maxrss` of the process at the end: its resident-memory high-water mark. */
  readonly maxRssBytes: number;
  /** Tokens of the steps over their wall time. */
  readonly tokensPerSecond: number;
  readonly versions: { readonly torch: string; readonly transformers: string; readonly peft: string };
}

/**
 * PyTorch + PEFT on CPU, set up as a memory-conscious user would: the base
 * loaded in bf16, `gradient_checkpointing_enable()` (non-reentrant), a LoRA
 * adapter (PEFT keeps its factors in f32 over a bf16 base), AdamW, `steps`
 * optimizer steps on random ids with labels, `torch.set_num_threads`.
 */
const SCRIPT = `
import json, resource, sys, time
job = json.loads(sys.argv[1])
import torch
torch.set_num_threads(job["threads"])
import peft, transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained(job["model"], dtype=torch.bfloat16)
model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
model = get_peft_model(model, LoraConfig(r=job["rank"], lora_alpha=job["alpha"], target_modules=job["targets"], lora_dropout=0.0))
trainable = [p for p in model.parameters() if p.requires_grad]
assert all(p.dtype == torch.float32 for p in trainable), "PEFT left LoRA factors in " + str(trainable[0].dtype)
model.train()
optimizer = torch.optim.AdamW(trainable, lr=1e-4)
generator = torch.Generator().manual_seed(0)
vocab = model.config.vocab_size
elapsed = 0.0
for _ in range(job["steps"]):
    ids = torch.randint(0, vocab, (job["batch"], job["seq"]), generator=generator)
    start = time.perf_counter()
    model(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    elapsed += time.perf_counter() - start
print(json.dumps({
    "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "tokensPerSecond": job["steps"] * job["batch"] * job["seq"] / elapsed,
    "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
}))
`;

/** Runs {@link SCRIPT} for `job` with `python` and returns what it reports; rejects with the script's last error line. */
export async function runTorchMemory(python: string, job: TorchMemoryJob): Promise<TorchMemoryResult> {
  const dir = await mkdtemp(join(tmpdir(), 'lorafuse-bench-memory-torch-'));
  const script = join(dir, 'bench_memory_torch.py');
  await writeFile(script, SCRIPT);
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(python, [script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
      child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      child.on('error', fail);
      child.on('close', (exit) => done({ code: exit, stdout, stderr }));
    });
    const last = stdout.trim().split('\n').at(-1);
    if (code !== 0 || !last) throw new Error(`PyTorch exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
    return JSON.parse(last) as TorchMemoryResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
