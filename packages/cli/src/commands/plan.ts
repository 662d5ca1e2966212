import { LoraFuseError, describePlan, expectedModelWeights, formatBytes, openModelFolder, planMemory, type MemoryPlan } from '@lorafuse/core';
import { parseCommand, type ParsedCommand } from '../args.js';
import { useCliBackend } from '../backend-choice.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { jsonLine, table } from '../format.js';
import { cliPlugins, cliRuntime } from '../runtime.js';
import {
  BASE_DTYPE_OPTION,
  BASE_DTYPE_USAGE,
  baseDtypeOf,
  CHECKPOINTING_OPTION,
  CHECKPOINTING_USAGE,
  checkpointingOf,
  numberOption,
  required,
} from './model-data.js';
import type { Command } from './types.js';

/** `lorafuse plan --model dir`: the memory a LoRA training run would need, and whether it fits. */
export const planCommand: Command = {
  name: 'plan',
  summary: 'Plan the memory of a LoRA training run: the peak by part, whether it fits, what would',
  usage: `Usage: lorafuse plan --model <dir> [--batch-size n] [--max-length n] [--accumulation k]
                     [--targets q_proj,v_proj] [--rank r] [--adapters n] [--adapt]
                     [--base-dtype d] [--checkpointing c] [--memory-budget bytes] [--backend name] [--json]

  --model          Hugging Face model folder (Llama family); only its config and tensor
                   headers are read
  --batch-size     examples per micro-batch (default 8)
  --max-length     tokens per example, every one planned at this length (default the
                   model's max_position_embeddings)
  --accumulation   micro-batches per optimizer step (default 1)
  --targets        projections the adapters train (default q_proj,v_proj)
  --rank           LoRA rank (default 8)
  --adapters       adapters trained together, e.g. 5 for adapt's target and 4 related (default 1)
  --adapt          plan adapt's pruning too: norms from forward passes over the training set
${BASE_DTYPE_USAGE}
${CHECKPOINTING_USAGE}
  --memory-budget  cap the backend's memory below its own limit: bytes, or with KiB, MiB, GiB
  --backend        the backend to plan for (default auto): its limit (wasm: the 4 GiB wasm32
                   address space; webgpu: the device's buffer limits) and kernel scratch
  --json           print the plan as one JSON object

The plan runs the training step's forward and backward passes on a backend
that only counts bytes: it is an upper bound (every example at --max-length).
When the peak does not fit, it names the smallest change that does: a
smaller batch with more accumulation, or shorter examples, else a smaller
model. train and adapt check the same plan before their first step.
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('plan', argv, {
      model: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-length': { type: 'string' },
      accumulation: { type: 'string' },
      targets: { type: 'string' },
      rank: { type: 'string' },
      adapters: { type: 'string' },
      adapt: { type: 'boolean' },
      'memory-budget': { type: 'string' },
      ...BASE_DTYPE_OPTION,
      ...CHECKPOINTING_OPTION,
    });
    const modelDir = required('plan', parsed, 'model');
    const int = (name: string, fallback: number) => numberOption('plan', parsed, name, fallback, { min: 1, integer: true });
    const { folder } = await folderOpener(io, parsed)(modelDir);
    const checkpoint = await openModelFolder(folder);
    const { config } = checkpoint;
    // Vectors load as f32; matrices keep their stored dtype, or take --base-dtype.
    const { baseDtype } = baseDtypeOf('plan', parsed);
    const weights = new Map(
      expectedModelWeights(config).map((w) => [
        w.name,
        { dtype: w.shape.length === 1 ? ('f32' as const) : (baseDtype ?? floatDtype(checkpoint.weights.info(w.name).dtype)) },
      ]),
    );
    const runtime = await cliRuntime(cliPlugins());
    let plan: MemoryPlan;
    try {
      const backend = await useCliBackend(runtime, parsed.values, io);
      const mode = checkpointingOf('plan', parsed).checkpointing ?? 'auto';
      const planWith = (checkpointing: 'none' | 'layers') =>
        planMemory(config, {
          ...(backend.memoryTraits ? { backend: backend.memoryTraits } : {}),
          ...budgetOf(parsed),
          batchSize: int('batch-size', 8),
          maxLength: numberOption('plan', parsed, 'max-length', config.maxPositionEmbeddings, { min: 1, max: config.maxPositionEmbeddings, integer: true }),
          accumulation: int('accumulation', 1),
          adapters: int('adapters', 1),
          rank: int('rank', 8),
          targets: targetsOf(parsed),
          weights,
          ...(parsed.values.adapt ? { adapt: { normSource: 'dataset' as const } } : {}),
          checkpointing,
        });
      // As train and adapt decide: auto checkpoints the layers when that is what makes the run fit.
      plan = planWith(mode === 'layers' ? 'layers' : 'none');
      if (mode === 'auto' && !plan.fits) {
        const checkpointed = planWith('layers');
        if (checkpointed.fits) plan = checkpointed;
      }
    } finally {
      await runtime.dispose();
    }
    io.out(parsed.values.json ? jsonLine({ model: modelDir, ...plan }) : render(modelDir, plan));
    return 0;
  },
};

function floatDtype(dtype: string | undefined): 'f32' | 'f16' | 'bf16' {
  return dtype === 'f16' || dtype === 'bf16' ? dtype : 'f32';
}

function targetsOf(parsed: ParsedCommand): string[] | undefined {
  const raw = parsed.values.targets;
  if (raw === undefined) return undefined;
  const targets = String(raw)
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (targets.length === 0) throw new LoraFuseError('CLI_USAGE', 'plan: --targets needs at least one projection name, e.g. q_proj,v_proj.');
  return targets;
}

const UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 };

/** `--memory-budget` in bytes: a number, optionally with KiB, MiB or GiB. */
export function budgetOf(parsed: ParsedCommand): { memoryBudget?: number } {
  const raw = parsed.values['memory-budget'];
  if (raw === undefined) return {};
  const match = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?\s*$/.exec(String(raw));
  const bytes = match ? Math.floor(Number(match[1]) * UNITS[match[2] ?? '']) : NaN;
  if (!(bytes > 0)) throw new LoraFuseError('CLI_USAGE', `--memory-budget must be a positive size such as 3GiB or 3221225472, got ${String(raw)}.`);
  return { memoryBudget: bytes };
}

function render(model: string, plan: MemoryPlan): string {
  const s = plan.settings;
  const b = plan.breakdown;
  const rows: [string, string][] = [
    ['frozen weights', formatBytes(b.weights)],
    ['LoRA factors, gradients, AdamW moments', formatBytes(b.lora)],
    ['activations kept for backward', formatBytes(b.activations)],
    ['LM head and loss', formatBytes(b.head)],
    ['transient (gradients in flight, scratch)', formatBytes(b.transient)],
    ['peak', formatBytes(plan.peakBytes)],
    ['limit', plan.limitBytes === undefined ? 'none known' : formatBytes(plan.limitBytes)],
  ];
  const verdict = plan.fits ? 'It fits.' : `It does not fit: ${plan.suggestion?.message ?? 'use a smaller model.'}`;
  return (
    `Memory plan for ${model} on ${s.backend}: micro-batches of ${s.batchSize} × ${s.maxLength} tokens, accumulation ${s.accumulation}, ` +
    `${s.adapters} adapter(s) with ${s.loraParameters} LoRA parameters, base ${s.baseDtype}, checkpointing ${s.checkpointing}\n\n` +
    table(['part', 'bytes'], rows) +
    `\n${describePlan(plan)}${plan.kernel ? `, inside ${plan.kernel}` : ''}. ${verdict}\n`
  );
}
