import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { jsonBytes } from '../packages/demo/src/files.js';
import type { LoadedConfig } from './config.js';
import type { ExperimentData } from './corpus.js';
import type { MethodResult } from './methods.js';
import { curvePlot, devGridPlot } from './plots.js';
import { describeProvenance, groupStages, sameCode, type Provenance, type StageProvenance } from './provenance.js';
import type { ExperimentSettings } from './settings.js';
import { comparisons, rows, table } from './tables.js';

/** The heading of the report's provenance section (`experiment:check` skips the section). */
export const PROVENANCE_HEADING = '## Provenance';

/** What {@link writeReport} writes about. */
export interface ReportInput {
  /** The results folder. */
  readonly out: string;
  /** The repository root: paths inside it are shown relative to it. */
  readonly root: string;
  readonly settings: ExperimentSettings;
  readonly data: ExperimentData;
  readonly dataDir: string;
  readonly results: readonly MethodResult[];
  /** The harness's arguments, shown as the command that makes the report. */
  readonly argv: readonly string[];
  readonly config: LoadedConfig;
  /** This process: it wrote the report. */
  readonly provenance: Provenance;
  /** What computed each stage the results rest on. */
  readonly stages: readonly StageProvenance[];
}

/** The command line without `--stage <name>`: the run that produces the whole report. */
function withoutStage(argv: readonly string[]): string[] {
  const i = argv.findIndex((a) => a === '--stage' || a.startsWith('--stage='));
  if (i < 0) return [...argv];
  return [...argv.slice(0, i), ...argv.slice(argv[i] === '--stage' ? i + 2 : i + 1)];
}

async function write(path: string, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** `path` relative to `root` (with `/`) when inside it or next to it (`../shared/…`), else absolute. */
function shown(path: string, root: string): string {
  const r = relative(root, path).split(sep).join('/');
  return r.startsWith('../..') || isAbsolute(r) ? path : r;
}

/** "the base model, 4 related LoRAs, 6 target LoRAs, 42 method results" for a list of stage names. */
function summarise(stages: readonly string[]): string {
  const count = (test: (s: string) => boolean) => stages.filter(test).length;
  const parts: [number, string, string][] = [
    [count((s) => s === 'base'), 'the base model', 'the base model'],
    [count((s) => s.startsWith('related/')), 'related LoRA', 'related LoRAs'],
    [count((s) => s.endsWith('/target-lora')), 'target LoRA', 'target LoRAs'],
    [count((s) => s !== 'base' && !s.startsWith('related/') && !s.endsWith('/target-lora')), 'method result', 'method results'],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, one, many]) => (one === many ? one : `${n} ${n === 1 ? one : many}`))
    .join(', ');
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The lines of the provenance section: the command, the config and what computed the report and each stage. */
function provenanceLines(input: ReportInput, command: string): string[] {
  const { config, provenance, stages, root } = input;
  const groups = groupStages(stages);
  const stageLines = groups.every((g) => g.provenance !== null && sameCode(g.provenance, provenance))
    ? [`- Every stage (${summarise(stages.map((s) => s.stage))}) was computed by the same commit, runtime and build.`]
    : groups.map((g) =>
        g.provenance === null
          ? `- ${capitalised(summarise(g.stages))}: not recorded (cached before provenance was recorded, or interrupted).`
          : `- ${capitalised(summarise(g.stages))}: ${describeProvenance(g.provenance)}.`,
      );
  return [
    PROVENANCE_HEADING,
    '',
    `- Command: \`${command}\` (${input.settings.name} scale; all stages, or one at a time with \`--stage\`).`,
    `- Config: \`${shown(config.path, root)}\` (${config.config.name}, sha256 \`${config.sha256.slice(0, 16)}\`); data \`${shown(input.dataDir, root)}\`.`,
    `- Report written by ${describeProvenance(provenance)}.`,
    ...stageLines,
    '',
  ];
}

/**
 * Writes the results under `input.out`: every method's per-seed JSON
 * (`<target>/seed-<n>/<method>.json`, with the provenance of the stage that
 * computed it; the target's folder is emptied first), `summary.json`, `results.md` (the tables, the bootstrap
 * comparisons, the data sizes and a provenance section: the exact command,
 * the config and its hash, and the commit, runtime and build of the report
 * and of every stage), `dev-grid.svg` and `curves.svg`.
 */
export async function writeReport(input: ReportInput): Promise<void> {
  const { out, settings, data, results } = input;
  const stageOf = new Map(input.stages.map((s) => [s.stage, s.provenance]));
  // A target's folder holds this run's results only (an earlier run may have had other methods or seeds).
  for (const target of new Set(results.map((r) => r.target))) await rm(join(out, target), { recursive: true, force: true });
  for (const r of results) {
    const name = `${r.target}/seed-${r.seed}/${r.method}`;
    await write(join(out, `${name}.json`), jsonBytes({ ...r, provenance: stageOf.get(name) ?? null }));
  }
  const byTarget = new Map<string, MethodResult[]>();
  for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const summary = [...byTarget].map(([target, rs]) => ({ target, rows: rows(rs), comparisons: comparisons(rs, settings) }));
  const args = withoutStage(input.argv);
  const command = ['npm run experiment', ...(args.length > 0 ? ['--', ...args] : [])].join(' ');
  const provenance = {
    ...input.provenance,
    date: new Date().toISOString(),
    command,
    config: { path: shown(input.config.path, input.root), name: input.config.config.name, sha256: input.config.sha256 },
    data: shown(input.dataDir, input.root),
    stages: groupStages(input.stages),
  };
  await write(join(out, 'summary.json'), jsonBytes({ settings, summary, provenance }));
  const sizes = [...data.targets].map(([name, s]) => `${name} ${s.train.length}/${s.dev.length}/${s.test.length}`).join(', ');
  const related = [...data.related].map(([d, p]) => `${d} ${p.length}`).join(', ');
  const md = [
    '# Results',
    '',
    `Data: ${data.pretrain.length} pretraining texts; related pairs ${related}; target train/dev/test pages ${sizes}.`,
    '',
    ...summary.map((s) => table(s.target, s.rows, s.comparisons, byTarget.get(s.target)![0].tokenization)),
    '![dev ROUGE-L against the pruning ratio](dev-grid.svg)',
    '',
    '![training curves](curves.svg)',
    '',
    ...provenanceLines(input, command),
  ].join('\n');
  await write(join(out, 'results.md'), md);
  await write(join(out, 'dev-grid.svg'), devGridPlot(byTarget));
  await write(join(out, 'curves.svg'), curvePlot(byTarget));
}
