import type { AdaptTensorSparsity } from './prune-hook.js';

/** Name of the provenance file written next to an adaptively merged adapter. */
export const ADAPT_PROVENANCE_FILE = 'lorafuse.json';

/** One file an adaptive merge read, with its content hash. */
export interface ProvenanceFile {
  /** What the file fed: the base model, the target or a related adapter, or the training or validation data. */
  readonly role: 'model' | 'target' | 'related' | 'train' | 'val';
  /** The path as the user gave it (a folder's files are listed one by one, as `folder/file`). */
  readonly path: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/** Zeros of one module after the last pruning step, over its A and B in every adapter. */
export interface ModuleSparsity {
  /** The base-model module path. */
  readonly module: string;
  /** Entries of all its factors. */
  readonly size: number;
  /** Entries set to zero by the last pruning step. */
  readonly pruned: number;
  /** `pruned / size`. */
  readonly sparsity: number;
}

/** The record of an adaptive merge: enough to tell how an adapter was made and to rerun it. */
export interface AdaptProvenance {
  /** Format tag of this record. */
  readonly format: 'lorafuse.adapt/1';
  /** The method (Miyano & Arase 2025, update-and-prune, then the exact `cat` merge). */
  readonly method: 'adaptive-merge';
  /** Every file read, in the order read. */
  readonly inputs: readonly ProvenanceFile[];
  /** The options the merge ran with, after defaults. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Seed of the data shuffle. */
  readonly seed: number;
  /** Package versions, e.g. `{"@lorafuse/core": "0.1.0"}`. */
  readonly versions: Readonly<Record<string, string>>;
  /** Mean training loss of the last optimizer step, and the last validation loss (`null` without validation data). */
  readonly loss: { readonly train: number | null; readonly val: number | null };
  /** Optimizer steps taken. */
  readonly steps: number;
  /** Per module, after the last pruning step. */
  readonly sparsity: readonly ModuleSparsity[];
}

/** What {@link buildAdaptProvenance} needs; the caller hashes the files (node:crypto, or SubtleCrypto in a browser). */
export interface AdaptProvenanceInput {
  readonly inputs: readonly ProvenanceFile[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly versions: Readonly<Record<string, string>>;
  readonly steps: number;
  readonly trainLoss: number | null;
  readonly valLoss: number | null;
  /** The `tensors` of the last `prune` event (empty when no step ran). */
  readonly tensors: readonly AdaptTensorSparsity[];
}

/** Sums the per-factor sparsity of a `prune` event per module, over both factors of every adapter, in first-seen order. */
export function moduleSparsity(tensors: readonly AdaptTensorSparsity[]): ModuleSparsity[] {
  const sums = new Map<string, { size: number; pruned: number }>();
  for (const t of tensors) {
    const s = sums.get(t.module) ?? { size: 0, pruned: 0 };
    s.size += t.size;
    s.pruned += t.pruned;
    sums.set(t.module, s);
  }
  return [...sums].map(([module, { size, pruned }]) => ({ module, size, pruned, sparsity: size === 0 ? 0 : pruned / size }));
}

/** Builds the provenance record of an adaptive merge (plain JSON, for {@link ADAPT_PROVENANCE_FILE}). */
export function buildAdaptProvenance(input: AdaptProvenanceInput): AdaptProvenance {
  return {
    format: 'lorafuse.adapt/1',
    method: 'adaptive-merge',
    inputs: input.inputs,
    options: input.options,
    seed: input.seed,
    versions: input.versions,
    loss: { train: input.trainLoss, val: input.valLoss },
    steps: input.steps,
    sparsity: moduleSparsity(input.tensors),
  };
}
