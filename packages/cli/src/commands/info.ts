import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  describeAdapter,
  describeModel,
  describeSafetensors,
  loadAdapter,
  LoraFuseError,
  openCheckpoint,
  openModelFolder,
  SafetensorsFile,
  type AdapterDescription,
  type Folder,
  type ModelDescription,
  type SafetensorsDescription,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { parseCommand } from '../args.js';
import { FOLDER_USAGE, folderOpener, type FolderOpener } from '../folders.js';
import { humanCount, jsonLine, table } from '../format.js';
import type { Command } from './types.js';

type Description = AdapterDescription | ModelDescription | SafetensorsDescription;

/** `lorafuse info <file-or-dir>`: what an adapter, model folder or safetensors file holds. */
export const infoCommand: Command = {
  name: 'info',
  summary: 'Describe a PEFT adapter, a Hugging Face model folder or a safetensors file',
  usage: `Usage: lorafuse info <file-or-dir> [--json]

  <file-or-dir>  a PEFT adapter folder (adapter_config.json), a Hugging Face
                 model folder (config.json), a .safetensors file, a sharded
                 checkpoint index (*.safetensors.index.json), or a Hub repository
                 org/name[@revision] holding an adapter or a model
  --json         print one JSON object instead of text
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('info', argv, {});
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      throw new LoraFuseError('CLI_USAGE', `info takes exactly one file or folder, got ${positionals.length}. See \`lorafuse info --help\`.`);
    }
    const description = await describePath(positionals[0], folderOpener(io, parsed));
    io.out(values.json ? jsonLine(description) : render(description));
    return 0;
  },
};

async function describePath(path: string, open: FolderOpener): Promise<Description> {
  const input = await open(path);
  if (input.hub) return describeFolder(input.folder, path);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new LoraFuseError('FILE_NOT_FOUND', `${path} does not exist.`, { cause, details: { path } });
  }
  if (isDirectory) return describeFolder(input.folder, path);
  const name = basename(path);
  const folder = nodeFolder(dirname(path));
  if (name === 'adapter_config.json') return describeAdapter(await loadAdapter(folder));
  if (name === 'config.json') return describeModel(await openModelFolder(folder));
  if (name.endsWith('.index.json')) return describeSafetensors(await openCheckpoint(folder, { file: name }));
  return describeSafetensors(await SafetensorsFile.open(await fileSource(path)));
}

/** An adapter folder (adapter_config.json) or a model folder (config.json), on disk or on the Hub. */
async function describeFolder(folder: Folder, path: string): Promise<Description> {
  if (await folder.exists('adapter_config.json')) return describeAdapter(await loadAdapter(folder));
  if (await folder.exists('config.json')) return describeModel(await openModelFolder(folder));
  throw new LoraFuseError(
    'FILE_NOT_FOUND',
    `${path} holds neither adapter_config.json (a PEFT adapter) nor config.json (a model); pass one of those folders or a .safetensors file.`,
    {
      details: { path },
    },
  );
}

function render(d: Description): string {
  switch (d.kind) {
    case 'adapter':
      return (
        `PEFT LoRA adapter: r=${d.r}, lora_alpha=${d.lora_alpha}, scaling=${d.scaling}${d.use_rslora ? ' (rsLoRA)' : ''}\n` +
        `target modules: ${d.target_modules.join(', ')}\n` +
        `${d.modules.length} LoRA modules, ${humanCount(d.parameters)} parameters (${d.parameters})\n\n` +
        table(
          ['module', 'r', 'alpha', 'scaling', 'in', 'out'],
          d.modules.map((m) => [m.name, m.r, m.alpha, m.scaling, m.in, m.out]),
        )
      );
    case 'model':
      return (
        `Hugging Face model: ${d.architecture}, ${humanCount(d.parameters)} parameters (${d.parameters})\n` +
        `LoRA targets: ${d.lora_targets.join(', ')}\n\n` +
        table(
          ['config', 'value'],
          Object.entries(d.config).map(([k, v]) => [k, k === 'layer_types' ? layerCounts(v as string[]) : typeof v === 'object' ? JSON.stringify(v) : v]),
        )
      );
    case 'safetensors': {
      const meta = Object.entries(d.metadata);
      return (
        `safetensors: ${d.tensors.length} tensors, ${humanCount(d.parameters)} parameters (${d.parameters})\n` +
        (meta.length ? `metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}\n` : '') +
        '\n' +
        table(
          ['tensor', 'dtype', 'shape'],
          d.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]),
        )
      );
    }
  }
}

/** `layer_types` in a line: how many layers of each type, e.g. `22 sliding_attention, 4 full_attention`. */
function layerCounts(types: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
}
