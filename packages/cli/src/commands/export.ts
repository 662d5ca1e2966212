import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { exportGgufAdapter, type GgufAdapterExport, loadAdapter, loadModelConfig, LoraFuseError } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { humanBytes, jsonLine, table } from '../format.js';
import type { Command } from './types.js';

const FORMATS = ['gguf'] as const;

/** `lorafuse export <adapter-dir> --model <dir> --format gguf --out <file>`: a PEFT adapter as a llama.cpp LoRA GGUF. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a PEFT adapter as a llama.cpp LoRA adapter (GGUF)',
  usage: `Usage: lorafuse export <adapter-dir> --model <dir> --out <file.gguf>
                       [--format gguf] [--dtype f32|f16] [--name text] [--json]

  <adapter-dir>  the PEFT LoRA adapter to export
  --model        the base model's folder (only its config.json is read): it decides
                 general.architecture (llama for Llama and Mistral, qwen2 for Qwen2)
                 and whether q/k rows are reordered as llama.cpp's converter does
  --format       gguf (the default and, for now, the only format)
  --dtype        f32 (default) or f16 factors
  --name         general.name to record in the file
  --out          the file to write; load it with llama.cpp's --lora next to a GGUF
                 of the same base model
  --json         print {"format","out","architecture","alpha","dtype","bytes","modules":[…]}

  llama.cpp scales every module by adapter.lora.alpha / rank. Modules whose PEFT
  scaling differs from that (rsLoRA, rank_pattern, alpha_pattern) get their B
  multiplied so that the product is PEFT's; "fold" in the output says by how much.
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('export', argv, {
      model: { type: 'string' },
      format: { type: 'string' },
      dtype: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
    });
    const args = exportArgs(parsed);
    const open = folderOpener(io, parsed);
    const adapter = await loadAdapter((await open(args.adapter)).folder);
    const model = await loadModelConfig((await open(args.model)).folder);
    const result = exportGgufAdapter(adapter, model, { dtype: args.dtype, name: args.name });
    await mkdir(dirname(args.out), { recursive: true });
    await nodeFolder(dirname(args.out)).write(basename(args.out), result.bytes);
    const summary = summarize(args, result);
    io.out(parsed.values.json ? jsonLine(summary) : render(summary));
    return 0;
  },
};

interface ExportArgs {
  adapter: string;
  model: string;
  dtype: 'f32' | 'f16';
  name?: string;
  out: string;
}

function exportArgs({ values, positionals }: ParsedCommand): ExportArgs {
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `export: ${why} See \`lorafuse export --help\`.`);
  if (positionals.length !== 1) throw usage(`takes exactly one adapter folder, got ${positionals.length}.`);
  if (typeof values.model !== 'string') throw usage('--model <dir> is required: the base model decides the GGUF architecture.');
  if (typeof values.out !== 'string') throw usage('--out <file> is required.');
  const format = values.format ?? 'gguf';
  if (!FORMATS.includes(format as (typeof FORMATS)[number])) throw usage(`--format must be one of ${FORMATS.join(', ')}; got ${JSON.stringify(format)}.`);
  const dtype = values.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw usage(`--dtype must be f32 or f16; got ${JSON.stringify(dtype)}.`);
  return { adapter: positionals[0], model: values.model, dtype, name: values.name as string | undefined, out: values.out };
}

/** What `lorafuse export --json` prints. */
interface ExportSummary {
  readonly format: 'gguf';
  readonly out: string;
  readonly architecture: string;
  readonly alpha: number;
  readonly dtype: 'f32' | 'f16';
  readonly bytes: number;
  readonly modules: ReadonlyArray<{ name: string; tensor: string; r: number; scaling: number; fold: number; permuted: boolean }>;
}

function summarize(args: ExportArgs, result: GgufAdapterExport): ExportSummary {
  return {
    format: 'gguf',
    out: args.out,
    architecture: result.architecture,
    alpha: result.alpha,
    dtype: args.dtype,
    bytes: result.bytes.reduce((n, chunk) => n + chunk.byteLength, 0),
    modules: result.modules.map((m) => ({ name: m.module, tensor: m.tensor, r: m.rank, scaling: m.scaling, fold: m.fold, permuted: m.permuted })),
  };
}

function render(s: ExportSummary): string {
  const folded = s.modules.filter((m) => m.fold !== 1).length;
  const head = `Wrote ${s.out} (${humanBytes(s.bytes)}): a llama.cpp LoRA adapter for architecture ${s.architecture}, alpha ${s.alpha}, ${s.modules.length} modules, ${s.dtype}`;
  const note = folded ? `${folded} module(s) have a scaling other than alpha/rank; their B is multiplied by "fold".\n` : '';
  const rows = s.modules.map((m) => [m.tensor, m.r, m.scaling, m.fold, m.permuted ? 'yes' : '']);
  return `${head}\n${note}\n${table(['tensor', 'r', 'scaling', 'fold', 'q/k rows reordered'], rows)}`;
}
