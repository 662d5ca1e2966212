// The messages between the page and the worker: one typed API, used by
// WorkerClient on the page and serveWorker in the worker.

/** The model and adapters of a run as Hugging Face Hub repositories: `org/name` or `org/name@revision` each. */
export interface HubIds {
  readonly model: string;
  readonly target: string;
  readonly related: readonly string[];
  /** Another Hub (a mirror, a test server); default the public one. */
  readonly endpoint?: string;
}

/** Where the inputs come from. Files cross postMessage without being read on the page. */
export type RunInputs =
  | {
      readonly kind: 'files';
      /** The model folder's files (config.json, model.safetensors or shards, optional tokenizer.json). */
      readonly model: readonly File[];
      /** The target task's PEFT adapter files. */
      readonly target: readonly File[];
      /** One list of PEFT adapter files per related task. */
      readonly related: readonly (readonly File[])[];
      /** JSONL training pairs ({"source","summary"} or {"text"} per line). */
      readonly train: File;
      /** Optional JSONL validation pairs: the comparison table scores on them (else on the training pairs). */
      readonly validation?: File;
    }
  | {
      readonly kind: 'urls';
      /** Base URL of the model folder. */
      readonly model: string;
      readonly target: string;
      readonly related: readonly string[];
      readonly train: string;
      readonly validation?: string;
    }
  | (HubIds & {
      readonly kind: 'hub';
      /** JSONL training pairs, picked as for `files`. */
      readonly train: File;
      readonly validation?: File;
    });

/** Where a run computes. */
export interface BackendOptions {
  /** `auto`, `webgpu`, `wasm` or `reference`; `webgpu` by name also takes fallback (software) adapters. */
  readonly backend: string;
  /** wasm only: `plain` SIMD128 reproduces Node's numbers bit for bit; default relaxed where supported. */
  readonly simd?: 'plain' | 'relaxed';
  /** wasm only: kernel threads (more than 1 needs a cross-origin isolated page); default the backend's choice. */
  readonly threads?: number;
}

/** Options of the built-in demo (`@lorafuse/demo`). */
export interface DemoRunOptions extends BackendOptions {
  /** The quick settings (seconds) instead of the full ones (minutes). */
  readonly quick: boolean;
  readonly seed: number;
}

/** Options the page sets; the rest are the method's published settings. */
export interface RunOptions extends BackendOptions {
  readonly ratio: number;
  readonly epochs: number;
  readonly lr: number;
  readonly accumulation: number;
  readonly batchSize: number;
  readonly seed: number;
  /** Save the training state to OPFS every this many steps (0: never), so a reload can resume. */
  readonly checkpointEvery: number;
}

/** What the worker reports while it runs. */
export type RunProgress =
  | { readonly kind: 'stage'; readonly text: string }
  | { readonly kind: 'start'; readonly totalSteps: number; readonly firstStep: number; readonly device: string }
  | { readonly kind: 'step'; readonly step: number; readonly epoch: number; readonly loss: number; readonly sparsity: number | null }
  | { readonly kind: 'eval'; readonly epoch: number; readonly loss: number };

/** One row of the comparison table: one way of combining the adapters, scored. */
export interface TableRow {
  readonly name: string;
  /** Scores by column (`loss`, `rougeL`...); `sparsity` is the share of zero factor entries, null where nothing was pruned. */
  readonly cells: Readonly<Record<string, number | null>>;
}

/** One point of the loss and sparsity curve. */
export interface CurvePoint {
  readonly step: number;
  readonly loss: number;
  readonly sparsity: number | null;
}

/** The finished run: the PEFT files (moved, not copied) and its numbers. */
export interface RunResult {
  /** adapter_config.json, adapter_model.safetensors and lorafuse.json bytes, by file name. */
  readonly files: Record<string, Uint8Array>;
  readonly steps: number;
  /** The backend's name (`wasm`, `webgpu`...). */
  readonly backend: string;
  /** The backend's description: build, thread count, adapter. */
  readonly device: string;
  readonly table: readonly TableRow[];
  /** The whole curve, when the run knows it better than its progress reports did (the demo's sparsity). */
  readonly curve?: readonly CurvePoint[];
}

/** A run saved in OPFS that a reload can resume. */
export interface PendingRun {
  readonly savedAt: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly options: RunOptions;
}

/** What the page learns about the worker's environment. */
export interface Environment {
  readonly crossOriginIsolated: boolean;
  readonly webgpu: boolean;
  readonly opfs: boolean;
}

/** The worker's methods. */
export type Api = {
  environment: { input: null; progress: never; output: Environment };
  run: { input: { readonly inputs: RunInputs; readonly options: RunOptions }; progress: RunProgress; output: RunResult };
  demo: { input: DemoRunOptions; progress: RunProgress; output: RunResult };
  resume: { input: null; progress: RunProgress; output: RunResult };
  pending: { input: null; progress: never; output: PendingRun | null };
  discard: { input: null; progress: never; output: null };
};
