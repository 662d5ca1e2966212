// The page: collects the inputs and options, drives the worker through the
// typed WorkerClient, draws progress, the chart, the table and the downloads.
import { LoraFuseError, WorkerClient, isLoraFuseError } from '@lorafuse/core';
import type { Api, BackendOptions, RunInputs, RunOptions, RunProgress, RunResult } from './api.js';
import { LossChart } from './chart.js';

const $ = <T extends HTMLElement = HTMLInputElement>(id: string) => document.getElementById(id) as T;
const worker = new WorkerClient<Api>(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }));
const chart = new LossChart($<HTMLDivElement>('chart-host'));
const status = $<HTMLSpanElement>('status');
const bar = $<HTMLProgressElement>('progress');
let controller: AbortController | undefined;
let totalSteps = 1;
let downloads: string[] = [];

type State = 'idle' | 'running' | 'done' | 'cancelled' | 'error';
function setState(state: State, text: string): void {
  document.body.dataset.state = state;
  status.textContent = text;
  status.className = state === 'error' ? 'error' : '';
  $<HTMLButtonElement>('run').disabled = state === 'running';
  $<HTMLButtonElement>('cancel').disabled = state !== 'running';
}

const sourceKind = () => (document.querySelector<HTMLInputElement>('input[name=source]:checked')?.value ?? 'demo') as RunInputs['kind'] | 'demo';

/** Picked files of a directory input; `webkitRelativePath` keeps their place inside the folder. */
const picked = (id: string) => [...($(id).files ?? [])];

/** Related adapters: the files of one adapter folder, or one group per sub-folder of a picked parent. */
function relatedGroups(files: File[]): File[][] {
  if (files.length === 0) return [];
  if (files.every((f) => f.webkitRelativePath.split('/').length <= 2)) return [files];
  const groups = new Map<string, File[]>();
  for (const f of files) {
    const parts = f.webkitRelativePath.split('/');
    if (parts.length < 3) continue;
    const group = groups.get(parts[1]) ?? [];
    // Re-rooted so that the adapter's own folder is the first segment.
    group.push(new File([f], f.name, { type: f.type }) as File & { webkitRelativePath: string });
    Object.defineProperty(group[group.length - 1], 'webkitRelativePath', { value: parts.slice(1).join('/') });
    groups.set(parts[1], group);
  }
  return [...groups.values()];
}

function readInputs(): RunInputs {
  const need = <T>(value: T | undefined | '', what: string): T => {
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) throw new LoraFuseError('INVALID_OPTION', `Pick ${what}.`);
    return value;
  };
  const data = () => ({ train: need(picked('train-file')[0], 'the training data'), validation: picked('val-file')[0] });
  const words = (id: string) => $(id).value.split(/\s+/).filter(Boolean);
  if (sourceKind() === 'hub') {
    return {
      kind: 'hub',
      model: need($('model-id').value.trim(), 'the model Hub id'),
      target: need($('target-id').value.trim(), 'the target adapter Hub id'),
      related: words('related-ids'),
      endpoint: $('hub-endpoint').value.trim() || undefined,
      ...data(),
    };
  }
  if (sourceKind() === 'urls') {
    return {
      kind: 'urls',
      model: need($('model-url').value, 'the model URL'),
      target: need($('target-url').value, 'the target adapter URL'),
      related: words('related-urls'),
      train: need($('train-url').value, 'the training data URL'),
      validation: $('val-url').value || undefined,
    };
  }
  return {
    kind: 'files',
    model: need(picked('model-files'), 'the model folder'),
    target: need(picked('target-files'), 'the target adapter folder'),
    related: relatedGroups(picked('related-files')),
    ...data(),
  };
}

const num = (id: string) => Number($(id).value);

function readBackend(): BackendOptions {
  const simd = $<HTMLSelectElement>('simd').value;
  const threads = num('threads');
  return {
    backend: $<HTMLSelectElement>('backend').value,
    simd: simd === 'plain' || simd === 'relaxed' ? simd : undefined,
    threads: threads > 0 ? threads : undefined,
  };
}

function readOptions(): RunOptions {
  return {
    ...readBackend(),
    ratio: num('ratio'),
    epochs: num('epochs'),
    lr: num('lr'),
    accumulation: num('accumulation'),
    batchSize: num('batch-size'),
    seed: num('seed'),
    checkpointEvery: num('checkpoint-every'),
  };
}

/** Form fields can be preset from the query string (?backend=wasm&simd=plain&epochs=1...), for links and tests. */
function presetFromQuery(): void {
  const params = new URLSearchParams(location.search);
  const ids: Record<string, string> = {
    batchSize: 'batch-size',
    checkpointEvery: 'checkpoint-every',
    modelUrl: 'model-url',
    targetUrl: 'target-url',
    relatedUrls: 'related-urls',
    trainUrl: 'train-url',
    valUrl: 'val-url',
    modelId: 'model-id',
    targetId: 'target-id',
    relatedIds: 'related-ids',
    hubEndpoint: 'hub-endpoint',
  };
  for (const [key, value] of params) {
    if (key === 'source') document.querySelector<HTMLInputElement>(`input[name=source][value="${CSS.escape(value)}"]`)?.click();
    const field = document.getElementById(ids[key] ?? key);
    if (field instanceof HTMLInputElement && field.type === 'checkbox') field.checked = value === 'true';
    else if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value;
  }
}

function onProgress(event: RunProgress): void {
  if (event.kind === 'stage') status.textContent = event.text;
  else if (event.kind === 'start') {
    totalSteps = event.totalSteps;
    chart.reset(totalSteps);
    bar.max = totalSteps;
    bar.value = event.firstStep;
    status.textContent = `training on ${event.device}${event.firstStep ? `, resumed after step ${event.firstStep}` : ''}`;
  } else if (event.kind === 'step') {
    chart.add({ step: event.step, loss: event.loss, sparsity: event.sparsity });
    bar.value = event.step;
    status.textContent = `step ${event.step} of ${totalSteps}: loss ${event.loss.toFixed(4)}, sparsity ${((event.sparsity ?? 0) * 100).toFixed(1)}%`;
    document.body.dataset.step = String(event.step);
  } else status.textContent = `epoch ${event.epoch + 1}: validation loss ${event.loss.toFixed(4)}`;
}

/** A table cell: sparsity as a percentage, counts as integers, scores with four decimals. */
function formatCell(column: string, value: number | null): string {
  if (value === null) return '–';
  if (column === 'sparsity') return `${(value * 100).toFixed(1)}%`;
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

function showResult(result: RunResult): void {
  const columns = Object.keys(result.table[0]?.cells ?? {});
  const head = document.createElement('tr');
  for (const text of ['method', ...columns]) head.append(Object.assign(document.createElement('th'), { textContent: text }));
  const table = $<HTMLTableElement>('results');
  table.tHead!.replaceChildren(head);
  const rows = result.table.map((row) => {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('td'), { textContent: row.name }));
    for (const column of columns) {
      const value = row.cells[column] ?? null;
      tr.append(Object.assign(document.createElement('td'), { textContent: formatCell(column, value) }));
      // The exact numbers, for scripts reading the page.
      tr.dataset[column] = String(value);
    }
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  if (result.curve) chart.reset(result.curve.length, result.curve);
  for (const url of downloads) URL.revokeObjectURL(url);
  downloads = [];
  const links = Object.entries(result.files).map(([name, bytes]) => {
    const url = URL.createObjectURL(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }),
    );
    downloads.push(url);
    return Object.assign(document.createElement('a'), { href: url, download: name, textContent: name });
  });
  $<HTMLParagraphElement>('downloads').replaceChildren(...links);
  $<HTMLElement>('outcome').hidden = false;
}

async function execute(call: (signal: AbortSignal) => Promise<RunResult>): Promise<void> {
  controller = new AbortController();
  $<HTMLElement>('resume-banner').hidden = true;
  setState('running', 'starting');
  try {
    const result = await call(controller.signal);
    showResult(result);
    setState('done', `done: ${result.steps} steps on ${result.device}`);
  } catch (error) {
    if (isLoraFuseError(error, 'ABORTED')) {
      setState('cancelled', 'cancelled; the last checkpoint is kept, reload or press Resume to continue');
      await offerResume();
    } else setState('error', isLoraFuseError(error) ? `${error.code}: ${error.message}` : String(error));
  } finally {
    controller = undefined;
  }
}

async function offerResume(): Promise<void> {
  const pending = await worker.call('pending', null);
  $<HTMLElement>('resume-banner').hidden = pending === null;
  if (pending)
    $('resume-text').textContent =
      `An unfinished run (step ${pending.step} of ${pending.totalSteps}, ${pending.options.backend}, started ${new Date(pending.savedAt).toLocaleString()}) can be resumed.`;
}

$<HTMLFormElement>('form').addEventListener('submit', (event) => {
  event.preventDefault();
  chart.reset(1);
  if (sourceKind() === 'demo') {
    const demo = { ...readBackend(), quick: $('quick').checked, seed: num('seed') };
    void execute((signal) => worker.call('demo', demo, { signal, onProgress }));
    return;
  }
  let input: { inputs: RunInputs; options: RunOptions };
  try {
    input = { inputs: readInputs(), options: readOptions() };
  } catch (error) {
    setState('error', (error as Error).message);
    return;
  }
  void execute((signal) => worker.call('run', input, { signal, onProgress }));
});
$('cancel').addEventListener('click', () => controller?.abort());
$('resume').addEventListener('click', () => void execute((signal) => worker.call('resume', null, { signal, onProgress })));
$('discard').addEventListener('click', () => void worker.call('discard', null).then(offerResume));
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=source]')) {
  radio.addEventListener('change', () => {
    for (const div of document.querySelectorAll<HTMLElement>('[data-source]')) div.hidden = !div.dataset.source!.split(' ').includes(sourceKind());
  });
}

presetFromQuery();
const env = await worker.call('environment', null);
$('environment').textContent =
  `WebGPU ${env.webgpu ? 'available' : 'not available'}; ${env.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated (wasm runs single-threaded)'}; ${env.opfs ? 'runs can be resumed after a reload' : 'no OPFS: runs cannot be resumed'}.`;
await offerResume();
setState('idle', 'ready');
