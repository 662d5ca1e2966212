import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_FILE,
  LoraFuseError,
  loadAdapter,
  loadCheckpoint,
  saveAdapter,
  type AdaptTensorSparsity,
  type CandidateCheckpoint,
  type FailedPruneRatio,
  type PruneRatioCandidate,
  type PruneRatioSearchProgress,
  type ProvenanceFile,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import type { CliIO } from '../io.js';

/** The file that says which run a checkpoint folder belongs to. */
const RUN_FILE = 'adapt-run.json';
/** The ratio grid's progress: the candidates done and the best so far. */
const GRID_FILE = 'grid.json';
const RUN_FORMAT = 'lorafuse.adapt-checkpoint/1';

/** What a run is made of: its inputs' contents, options and seed. A checkpoint resumes only the run that made it. */
export interface AdaptRunIdentity {
  readonly inputs: readonly ProvenanceFile[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

/** The grid's progress as {@link GRID_FILE} holds it; the best run's adapters are in `best-<index>/`. */
interface GridFile {
  readonly tried: number;
  readonly candidates: readonly PruneRatioCandidate[];
  readonly failed: readonly FailedPruneRatio[];
  readonly best: {
    readonly index: number;
    readonly candidate: PruneRatioCandidate;
    readonly steps: number;
    readonly trainLoss: number | null;
    readonly valLoss: number | null;
    readonly tensors: readonly AdaptTensorSparsity[];
    /** Trained input adapters saved (as `adapter-<j>`). */
    readonly adapters: number;
  } | null;
}

const json = (value: unknown) => [new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`)];

/** The run's identity as stored: paths left out, so that a run whose folders moved still resumes. */
function stored(identity: AdaptRunIdentity) {
  return {
    format: RUN_FORMAT,
    inputs: identity.inputs.map((f) => ({ role: f.role, sha256: f.sha256 })),
    options: identity.options,
    seed: identity.seed,
  };
}

/** The first difference between two stored identities, in words. */
function difference(saved: ReturnType<typeof stored>, now: ReturnType<typeof stored>): string | undefined {
  if (saved.format !== now.format) return `it has format ${String(saved.format)}`;
  if (saved.seed !== now.seed) return `it was made with --seed ${saved.seed}, not ${now.seed}`;
  const roles = (s: typeof saved) => s.inputs.map((f) => f.role).join(',');
  if (roles(saved) !== roles(now)) return 'it was made with another set of input files';
  const changed = now.inputs.findIndex((f, i) => f.sha256 !== saved.inputs[i].sha256);
  if (changed >= 0) return `the ${now.inputs[changed].role} input has changed since (a file's SHA-256 differs)`;
  const keys = new Set([...Object.keys(saved.options), ...Object.keys(now.options)]);
  for (const key of keys) {
    const [a, b] = [JSON.stringify(saved.options[key]), JSON.stringify(now.options[key])];
    if (a !== b) return `it was made with ${key} ${a ?? 'unset'}, not ${b ?? 'unset'}`;
  }
  return undefined;
}

/**
 * The `--checkpoint` folder of `lorafuse adapt`: the run's identity
 * ({@link RUN_FILE}), the trainer's checkpoint (the folder itself for one
 * ratio, `candidate-<i>/` for candidate `i` of a grid), and a grid's
 * progress ({@link GRID_FILE} and the best run's adapters in `best-<i>/`).
 * Every file is replaced atomically, and the grid's file is written last,
 * so a process killed at any moment leaves a folder a resumed run continues
 * from.
 */
export class AdaptCheckpoint {
  readonly #dir: string;
  readonly #everySteps: number | undefined;

  private constructor(dir: string, everySteps: number | undefined) {
    this.#dir = dir;
    this.#everySteps = everySteps;
  }

  /**
   * Opens `dir` for a run with `identity`. A fresh run needs a folder with
   * no checkpoint in it (`CLI_USAGE` otherwise: resume it, or choose
   * another); a resumed one needs the checkpoint of the same run
   * (`CHECKPOINT_MISMATCH` otherwise), or starts from the beginning, saying
   * so, when the folder holds none yet.
   */
  static async open(dir: string, identity: AdaptRunIdentity, options: { readonly resume: boolean; readonly everySteps?: number }, io: CliIO) {
    const folder = nodeFolder(dir);
    const now = stored(identity);
    const has = async (file: string) => folder.exists(file);
    if (!options.resume) {
      if ((await has(RUN_FILE)) || (await has(CHECKPOINT_FILE)))
        throw new LoraFuseError(
          'CLI_USAGE',
          `adapt: --checkpoint ${dir} already holds a checkpoint; add --resume to continue that run, or choose an empty folder.`,
        );
    } else if (await has(RUN_FILE)) {
      const saved = JSON.parse(await readFile(join(dir, RUN_FILE), 'utf8')) as ReturnType<typeof stored>;
      const why = difference(saved, now);
      if (why)
        throw new LoraFuseError('CHECKPOINT_MISMATCH', `adapt: --checkpoint ${dir} belongs to another run: ${why}. Resume with the same inputs and options.`, {
          details: { checkpoint: dir },
        });
    } else if (await has(CHECKPOINT_FILE)) {
      throw new LoraFuseError(
        'CHECKPOINT_MISMATCH',
        `adapt: --checkpoint ${dir} holds a trainer checkpoint without ${RUN_FILE}; it was not made by lorafuse adapt.`,
        {
          details: { checkpoint: dir },
        },
      );
    } else {
      io.err(`no checkpoint in ${dir} yet: starting from the first step\n`);
    }
    await folder.write(RUN_FILE, json(now));
    return new AdaptCheckpoint(dir, options.everySteps);
  }

  /** The checkpointing of a one-ratio run: the folder itself. */
  run(): Promise<CandidateCheckpoint> {
    return this.#trainer(this.#dir);
  }

  /** The checkpointing of candidate `index` of a grid. */
  candidate(index: number): Promise<CandidateCheckpoint> {
    return this.#trainer(join(this.#dir, `candidate-${index}`));
  }

  /** The grid's progress as last saved, the best run's adapters loaded; undefined before the first candidate is done. */
  async gridProgress(): Promise<PruneRatioSearchProgress | undefined> {
    if (!(await nodeFolder(this.#dir).exists(GRID_FILE))) return undefined;
    const grid = JSON.parse(await readFile(join(this.#dir, GRID_FILE), 'utf8')) as GridFile;
    const { tried, candidates, failed } = grid;
    if (!grid.best) return { tried, candidates, failed };
    const { index, candidate, steps, trainLoss, valLoss, tensors } = grid.best;
    const at = (name: string) => nodeFolder(join(this.#dir, `best-${index}`, name));
    const adapters = [];
    for (let j = 0; j < grid.best.adapters; j++) adapters.push(await loadAdapter(at(`adapter-${j}`)));
    const result = { merged: await loadAdapter(at('merged')), adapters, steps, trainLoss, valLoss, tensors };
    return { tried, candidates, failed, best: { index, candidate, result } };
  }

  /**
   * Saves the grid's progress: a new best run's adapters first, then
   * {@link GRID_FILE} (the commit point), then removes what it no longer
   * needs (the finished candidates' trainer checkpoints, earlier bests).
   */
  async saveGridProgress(progress: PruneRatioSearchProgress): Promise<void> {
    const best = progress.best;
    const grid: GridFile = {
      tried: progress.tried,
      candidates: progress.candidates,
      failed: progress.failed,
      best: best
        ? {
            index: best.index,
            candidate: best.candidate,
            steps: best.result.steps,
            trainLoss: best.result.trainLoss,
            valLoss: best.result.valLoss,
            tensors: best.result.tensors,
            adapters: best.result.adapters.length,
          }
        : null,
    };
    if (best && best.index === progress.tried - 1) {
      const dir = join(this.#dir, `best-${best.index}`);
      // A folder left by a run killed while writing it is rewritten whole.
      await rm(dir, { recursive: true, force: true });
      await saveAdapter(nodeFolder(join(dir, 'merged')), best.result.merged);
      for (const [j, adapter] of best.result.adapters.entries()) await saveAdapter(nodeFolder(join(dir, `adapter-${j}`)), adapter);
    }
    await nodeFolder(this.#dir).write(GRID_FILE, json(grid));
    const stale = (name: string) => {
      const m = /^(candidate|best)-(\d+)$/.exec(name);
      if (!m) return false;
      return m[1] === 'candidate' ? Number(m[2]) < progress.tried : Number(m[2]) !== best?.index;
    };
    for (const name of (await readdir(this.#dir)).filter(stale)) await rm(join(this.#dir, name), { recursive: true, force: true });
  }

  async #trainer(dir: string): Promise<CandidateCheckpoint> {
    const folder = nodeFolder(dir);
    const resume = (await folder.exists(CHECKPOINT_FILE)) ? await loadCheckpoint(folder) : undefined;
    return { checkpoint: { folder, ...(this.#everySteps === undefined ? {} : { everySteps: this.#everySteps }) }, ...(resume ? { resume } : {}) };
  }
}
