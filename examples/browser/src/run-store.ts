// The run kept in the origin private file system so that a reload can
// resume it: its options, its inputs (picked files are copied in, since a
// reload forgets them; URLs and Hub ids are kept as they are, the Hub's
// files being in the Cache API already) and the trainer checkpoint.
import {
  CHECKPOINT_FILE,
  loadCheckpoint,
  opfsFolder,
  opfsFolderExists,
  parseJsonBytes,
  readFile,
  readJsonl,
  removeOpfsFolder,
  urlFolder,
  urlSource,
  type Folder,
  type TrainCheckpoint,
  type WritableFolder,
} from '@lorafuse/core';
import type { HubIds, PendingRun, RunInputs, RunOptions } from './api.js';
import { openHubInputs, type DownloadControl } from './hub.js';
import type { PipelineInputs } from './pipeline.js';

const RUN_DIR = 'lorafuse-example/run';
const RUN_FILE = 'run.json';

/** What run.json holds. */
interface SavedRun {
  readonly savedAt: string;
  readonly options: RunOptions;
  readonly totalSteps: number;
  /** URL inputs, or null when the inputs were copied into `inputs/`. */
  readonly urls: Extract<RunInputs, { kind: 'urls' }> | null;
  /** The model and adapters by Hub id (the data copied into `inputs/`), or null. */
  readonly hub: HubIds | null;
  readonly related: number;
  readonly validation: boolean;
}

const encode = (value: unknown) => [new TextEncoder().encode(JSON.stringify(value))];

/** A folder of the stored run. */
const runFolder = (path = '') => opfsFolder(path ? `${RUN_DIR}/${path}` : RUN_DIR);

/** A file's path inside its picked folder: `webkitRelativePath` minus the folder itself, or its name. */
const relativePath = (file: File) => (file.webkitRelativePath ? file.webkitRelativePath.split('/').slice(1).join('/') : file.name);

async function copyFiles(folder: WritableFolder, files: readonly File[]): Promise<void> {
  for (const file of files) await folder.write(relativePath(file), [new Uint8Array(await file.arrayBuffer())]);
}

/** Opens the saved inputs as the pipeline takes them. */
async function openInputs(saved: SavedRun, control: DownloadControl): Promise<PipelineInputs> {
  if (saved.urls) {
    const { model, target, related, train, validation } = saved.urls;
    return {
      model: urlFolder(model),
      adapters: [target, ...related].map((u) => urlFolder(u)),
      train: await urlSource(train),
      validation: validation ? await urlSource(validation) : undefined,
    };
  }
  const inputs = await runFolder('inputs');
  return {
    ...(saved.hub ? await openHubInputs(saved.hub, control) : await openCopies(saved.related)),
    train: await inputs.open('train.jsonl'),
    validation: saved.validation ? await inputs.open('validation.jsonl') : undefined,
  };
}

/** The model and adapter folders copied into `inputs/`. */
async function openCopies(related: number): Promise<{ model: Folder; adapters: Folder[] }> {
  const adapters: Folder[] = [await runFolder('inputs/target')];
  for (let i = 0; i < related; i++) adapters.push(await runFolder(`inputs/related-${i}`));
  return { model: await runFolder('inputs/model'), adapters };
}

/** A run stored in OPFS: where its checkpoint goes and how to reopen its inputs. */
export interface StoredRun {
  readonly options: RunOptions;
  readonly inputs: PipelineInputs;
  readonly checkpoint: WritableFolder;
}

/** Starts a new stored run (replacing any previous one): copies the inputs and writes run.json. */
export async function storeRun(inputs: RunInputs, options: RunOptions, control: DownloadControl): Promise<StoredRun> {
  await removeOpfsFolder(RUN_DIR);
  const root = await runFolder();
  if (inputs.kind !== 'urls') {
    const saved = await runFolder('inputs');
    if (inputs.kind === 'files') {
      await copyFiles(await runFolder('inputs/model'), inputs.model);
      await copyFiles(await runFolder('inputs/target'), inputs.target);
      for (const [i, files] of inputs.related.entries()) await copyFiles(await runFolder(`inputs/related-${i}`), files);
    }
    await saved.write('train.jsonl', [new Uint8Array(await inputs.train.arrayBuffer())]);
    if (inputs.validation) await saved.write('validation.jsonl', [new Uint8Array(await inputs.validation.arrayBuffer())]);
  }
  const partial: Omit<SavedRun, 'totalSteps'> = {
    savedAt: new Date().toISOString(),
    options,
    urls: inputs.kind === 'urls' ? inputs : null,
    hub: inputs.kind === 'hub' ? { model: inputs.model, target: inputs.target, related: inputs.related, endpoint: inputs.endpoint } : null,
    related: inputs.related.length,
    validation: inputs.validation !== undefined,
  };
  const opened = await openInputs({ ...partial, totalSteps: 0 }, control);
  const examples = (await readJsonl(opened.train)).length;
  const totalSteps = Math.ceil(Math.ceil(examples / options.batchSize) / options.accumulation) * options.epochs;
  await root.write(RUN_FILE, encode({ ...partial, totalSteps }));
  return { options, inputs: opened, checkpoint: await runFolder('checkpoint') };
}

async function savedRun(): Promise<SavedRun | null> {
  if (!(await opfsFolderExists(RUN_DIR))) return null;
  const root = await runFolder();
  if (!(await root.exists(RUN_FILE)) || !(await root.exists(`checkpoint/${CHECKPOINT_FILE}`))) return null;
  return parseJsonBytes(await readFile(root, RUN_FILE), `${root.name}/${RUN_FILE}`) as unknown as SavedRun;
}

/** The stored run a reload can resume: one with a checkpoint. */
export async function pendingRun(): Promise<PendingRun | null> {
  const saved = await savedRun();
  if (!saved) return null;
  const { progress } = await loadCheckpoint(await runFolder('checkpoint'));
  return { savedAt: saved.savedAt, step: progress.step, totalSteps: saved.totalSteps, options: saved.options };
}

/** Reopens the stored run with its checkpoint, or null when there is none. */
export async function reopenRun(control: DownloadControl): Promise<(StoredRun & { resume: TrainCheckpoint }) | null> {
  const saved = await savedRun();
  if (!saved) return null;
  const checkpoint = await runFolder('checkpoint');
  return { options: saved.options, inputs: await openInputs(saved, control), checkpoint, resume: await loadCheckpoint(checkpoint) };
}

/** Forgets the stored run (after it finished, or when the user discards it). */
export function discardRun(): Promise<void> {
  return removeOpfsFolder(RUN_DIR);
}
