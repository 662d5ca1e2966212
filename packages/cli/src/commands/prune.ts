import { mkdir } from 'node:fs/promises';
import {
  CausalLM,
  collectInputNorms,
  freeAdapter,
  uploadAdapter,
  type Backend,
  loadAdapter,
  LoraFuseError,
  Pruner,
  pruneAdapter,
  SafetensorsFile,
  saveAdapter,
  type ImportancePlugin,
  type Folder,
  type LoraAdapter,
  type ModuleNorms,
  type PruneReport,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { useCliBackend } from '../backend-choice.js';
import { cliPlugins, cliRuntime, loadPluginModules, parseSeed } from '../runtime.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { jsonLine, table } from '../format.js';
import { modelTokenizer, readExamples } from './model-data.js';
import type { Command } from './types.js';

/** Tensor-name suffixes of a `--norms` file: `<module>.input_norms` `[in]`, `<module>.hidden_norms` `[r]`. */
const NORM_SUFFIXES = Object.freeze({ inputNorms: '.input_norms', hiddenNorms: '.hidden_norms' });

/** `lorafuse prune <adapter-dir> --metric m --ratio r --out dir`: one pruning pass over a PEFT adapter. */
export const pruneCommand: Command = {
  name: 'prune',
  summary: 'Prune the LoRA factors of a PEFT adapter by an importance metric',
  usage: `Usage: lorafuse prune <adapter-dir> --metric <name> --ratio r --out <dir>
                      [--group module|row|global|2:4|4:8]
                      [--norms <file.safetensors> | --model <dir> --calib <jsonl>]
                      [--plugin <module>] [--backend name] [--seed n] [--json]

  --metric    magnitude, wanda, lora (the method's factor importance) or random;
              taylor needs gradients and runs only while training (lorafuse adapt)
  --ratio     share of each group's entries to prune, in [0, 1]
              (N:M groupings imply 1 - N/M and may leave it out)
  --group     module (default: each A and each B on its own), row, global, 2:4, 4:8
  --norms     activation statistics for lora and wanda: a safetensors file with,
              per LoRA module, <module>.input_norms [in] (the L2 norm of each input
              feature over calibration tokens) and, for wanda,
              <module>.hidden_norms [r] (of A·x, B's input). <module> is the module
              path as in the adapter, e.g. model.layers.0.self_attn.q_proj
  --model, --calib
              collect the input norms instead: run every record of the JSONL file
              (its whole prompt and summary) through the model folder's model with
              the adapter applied (the lora metric; wanda also needs hidden norms,
              which only --norms gives)
  --plugin    a module exporting more plugins (e.g. an importance metric)
  --out       folder for the pruned PEFT adapter (pruned entries are zero)
  --json      print {"metric","group","ratio","modules":[{"name","a_sparsity","b_sparsity",…}],…}
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('prune', argv, {
      metric: { type: 'string' },
      ratio: { type: 'string' },
      group: { type: 'string' },
      norms: { type: 'string' },
      model: { type: 'string' },
      calib: { type: 'string' },
      out: { type: 'string' },
    });
    const args = pruneArgs(parsed);
    const plugins = cliPlugins(parseSeed(parsed.values.seed), await loadPluginModules(parsed.values.plugin));
    const metric = plugins.get('importance', args.metric) as ImportancePlugin;
    plugins.get('grouping', args.group);
    checkStatistics(metric, args);
    const open = folderOpener(io, parsed);
    const adapter = await loadAdapter((await open(args.adapter)).folder);
    const runtime = await cliRuntime(plugins);
    try {
      const backend = await useCliBackend(runtime, parsed.values, io);
      const norms = args.norms
        ? await readNorms(args.norms, adapter, metric)
        : args.calibration && (await calibrationNorms(backend, adapter, (await open(args.calibration.model)).folder, args.calibration.data, parsed));
      const pruner = new Pruner({ backend, plugins, metric, grouping: args.group, ratio: args.ratio });
      const result = await pruneAdapter(pruner, adapter, { norms: norms || undefined });
      pruner.dispose();
      await mkdir(args.out, { recursive: true });
      await saveAdapter(nodeFolder(args.out), result.adapter);
      const summary = summarize(args, pruner.ratio, backend.name, result.report);
      io.out(parsed.values.json ? jsonLine(summary) : render(summary));
    } finally {
      await runtime.dispose();
    }
    return 0;
  },
};

interface PruneArgs {
  adapter: string;
  metric: string;
  ratio?: number;
  group: string;
  norms?: string;
  /** `--model` and `--calib`: collect the input norms with this model over this data. */
  calibration?: { model: string; data: string };
  out: string;
}

function pruneArgs({ values, positionals }: ParsedCommand): PruneArgs {
  const usage = (why: string) => new LoraFuseError('CLI_USAGE', `prune: ${why} See \`lorafuse prune --help\`.`);
  if (positionals.length !== 1) throw usage(`takes exactly one adapter folder, got ${positionals.length}.`);
  if (typeof values.metric !== 'string') throw usage('--metric is required (magnitude, wanda, lora, random).');
  if (typeof values.out !== 'string') throw usage('--out <dir> is required.');
  if ((values.model === undefined) !== (values.calib === undefined))
    throw usage('--model and --calib go together: the model folder and the JSONL calibration data.');
  if (values.model !== undefined && values.norms !== undefined) throw usage('give either --norms or --model with --calib, not both.');
  let ratio: number | undefined;
  if (values.ratio !== undefined) {
    ratio = Number(values.ratio);
    if (typeof values.ratio !== 'string' || values.ratio.trim() === '' || !Number.isFinite(ratio))
      throw usage(`--ratio must be a number in [0, 1], got ${String(values.ratio)}.`);
  }
  const calibration = typeof values.model === 'string' && typeof values.calib === 'string' ? { model: values.model, data: values.calib } : undefined;
  return {
    adapter: positionals[0],
    metric: values.metric,
    ratio,
    group: typeof values.group === 'string' ? values.group : 'module',
    norms: values.norms as string | undefined,
    calibration,
    out: values.out,
  };
}

/** Fails early, saying what to pass, when the metric needs statistics or gradients the command line cannot give. */
function checkStatistics(metric: ImportancePlugin, { norms, calibration }: PruneArgs): void {
  const needs = metric.requires ?? [];
  if (needs.includes('gradients')) {
    throw new LoraFuseError(
      'PRUNE_INPUT_MISSING',
      `prune: metric "${metric.name}" needs gradients, which exist only while training; use it with lorafuse adapt, or pick magnitude, wanda, lora or random.`,
    );
  }
  if (calibration && needs.includes('hiddenNorms')) {
    throw new LoraFuseError(
      'PRUNE_INPUT_MISSING',
      `prune: metric "${metric.name}" needs the norms of A·x (B's input), which --model/--calib does not collect; pass --norms <file.safetensors> with <module>.hidden_norms [r], or use the lora metric.`,
      {
        details: { metric: metric.name, needs },
      },
    );
  }
  if (!norms && !calibration && (needs.includes('inputNorms') || needs.includes('hiddenNorms'))) {
    const tensors = needs.includes('hiddenNorms') ? '<module>.input_norms [in] and <module>.hidden_norms [r]' : '<module>.input_norms [in]';
    throw new LoraFuseError(
      'PRUNE_INPUT_MISSING',
      `prune: metric "${metric.name}" needs activation statistics: pass --model <dir> --calib <jsonl>, or --norms <file.safetensors> holding ${tensors} for every LoRA module.`,
      {
        details: { metric: metric.name, needs },
      },
    );
  }
}

/** Reads the `--norms` file: per module, the tensors the metric needs (`PRUNE_INPUT_MISSING` naming any absent one). */
async function readNorms(path: string, adapter: LoraAdapter, metric: ImportancePlugin): Promise<Map<string, ModuleNorms>> {
  const file = await SafetensorsFile.open(await fileSource(path));
  const names = new Set(file.tensors.map((t) => t.name));
  const needs = metric.requires ?? [];
  const norms = new Map<string, ModuleNorms>();
  for (const m of adapter.modules) {
    const entry: { inputNorms?: ModuleNorms['inputNorms']; hiddenNorms?: ModuleNorms['hiddenNorms'] } = {};
    for (const key of ['inputNorms', 'hiddenNorms'] as const) {
      const name = m.name + NORM_SUFFIXES[key];
      if (names.has(name)) entry[key] = await file.read(name);
      else if (needs.includes(key)) {
        throw new LoraFuseError('PRUNE_INPUT_MISSING', `${path} has no tensor "${name}", which metric "${metric.name}" needs for module ${m.name}.`, {
          details: { file: path, tensor: name },
        });
      }
    }
    norms.set(m.name, entry);
  }
  return norms;
}

/** The input norms of every adapter module over the `--calib` records, from the `--model` model with the adapter applied. */
async function calibrationNorms(
  backend: Backend,
  adapter: LoraAdapter,
  folder: Folder,
  data: string,
  parsed: ParsedCommand,
): Promise<Map<string, ModuleNorms>> {
  const model = await CausalLM.load(backend, folder);
  const device = uploadAdapter(backend, adapter);
  try {
    const examples = await readExamples('prune', parsed, data, await modelTokenizer(folder, model), model, {});
    const norms = await collectInputNorms(backend, model, { modules: adapter.modules.map((m) => m.name), examples, adapters: [device] });
    return new Map([...norms].map(([name, inputNorms]) => [name, { inputNorms }]));
  } finally {
    freeAdapter(backend, device);
    model.dispose();
  }
}

interface PruneSummary {
  metric: string;
  group: string;
  ratio: number;
  backend: string;
  out: string;
  modules: { name: string; a_sparsity: number; b_sparsity: number; a_pruned: number; b_pruned: number; parameters: number }[];
  parameters: number;
  pruned: number;
  sparsity: number;
}

function summarize(args: PruneArgs, ratio: number, backend: string, report: PruneReport): PruneSummary {
  const modules = [];
  for (let i = 0; i < report.tensors.length; i += 2) {
    const [a, b] = [report.tensors[i], report.tensors[i + 1]];
    modules.push({ name: a.module, a_sparsity: a.sparsity, b_sparsity: b.sparsity, a_pruned: a.pruned, b_pruned: b.pruned, parameters: a.size + b.size });
  }
  const parameters = modules.reduce((s, m) => s + m.parameters, 0);
  const pruned = modules.reduce((s, m) => s + m.a_pruned + m.b_pruned, 0);
  return { metric: args.metric, group: args.group, ratio, backend, out: args.out, modules, parameters, pruned, sparsity: parameters ? pruned / parameters : 0 };
}

function render(s: PruneSummary): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return (
    `Pruned ${s.pruned} of ${s.parameters} LoRA parameters (${pct(s.sparsity)}) by ${s.metric}, group ${s.group}, ratio ${s.ratio} on ${s.backend}; wrote ${s.out}\n\n` +
    table(
      ['module', 'A sparsity', 'B sparsity'],
      s.modules.map((m) => [m.name, pct(m.a_sparsity), pct(m.b_sparsity)]),
    )
  );
}
