import { execFileSync } from 'node:child_process';
import { isAbsolute, relative } from 'node:path';
import type { WasmBackend } from '@lorafuse/backend-wasm';
import { parseJsonBytes, readFile, type WritableFolder } from '@lorafuse/core';
import { jsonBytes } from '../packages/demo/src/files.js';

/** What computed a result: the code (the git commit, and whether the working tree differed from it) and the runtime. */
export interface Provenance {
  /** `git rev-parse HEAD` of the repository; null outside a git checkout. */
  readonly commit: string | null;
  /** Whether tracked or untracked files differed from the commit (the results and cache folders aside); null outside a git checkout. */
  readonly dirty: boolean | null;
  /** `process.version`. */
  readonly node: string;
  /** `process.platform`/`process.arch`. */
  readonly platform: string;
  readonly backend: string;
  /** The backend's SIMD build: `plain` SIMD128 or `relaxed` (fused multiply-add). */
  readonly simd: 'plain' | 'relaxed';
  readonly threads: number;
}

/** A stage's output and what computed it (null: cached before provenance was recorded, or interrupted before it was). */
export interface StageProvenance {
  /** `base`, `related/<domain>`, `<target>/seed-<n>/target-lora` or `<target>/seed-<n>/<method>`. */
  readonly stage: string;
  readonly provenance: Provenance | null;
}

/** Stages that share one provenance. */
export interface StageGroup {
  readonly provenance: Provenance | null;
  readonly stages: readonly string[];
}

/** `stages` grouped by identical provenance, in order of first appearance. */
export function groupStages(stages: readonly StageProvenance[]): StageGroup[] {
  const groups = new Map<string, { provenance: Provenance | null; stages: string[] }>();
  for (const s of stages) {
    const key = JSON.stringify(s.provenance);
    if (!groups.has(key)) groups.set(key, { provenance: s.provenance, stages: [] });
    groups.get(key)!.stages.push(s.stage);
  }
  return [...groups.values()];
}

const git = (root: string, args: readonly string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/**
 * The provenance of this process: the checkout at `root` and the backend.
 * Changes under `excluded` (the results and cache folders, which the run
 * itself writes) do not make the tree dirty.
 */
export function currentProvenance(root: string, backend: WasmBackend, excluded: readonly string[]): Provenance {
  let commit: string | null = null;
  let dirty: boolean | null = null;
  try {
    commit = git(root, ['rev-parse', 'HEAD']).trim();
    const inside = excluded.map((p) => relative(root, p)).filter((p) => p !== '' && !p.startsWith('..') && !isAbsolute(p));
    dirty = git(root, ['status', '--porcelain', '--', '.', ...inside.map((p) => `:(exclude)${p}`)]).trim() !== '';
  } catch {
    // Not a git checkout (an unpacked tarball, say): the commit is unknown and recorded as such.
  }
  return {
    commit,
    dirty,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    backend: backend.name,
    simd: backend.build,
    threads: backend.threads,
  };
}

/** Whether `a` and `b` are the same code on the same runtime and build (thread counts aside: results do not depend on them). */
export function sameCode(a: Provenance, b: Provenance): boolean {
  return a.commit === b.commit && a.dirty === b.dirty && a.node === b.node && a.platform === b.platform && a.backend === b.backend && a.simd === b.simd;
}

/** One line for people: `commit 4037547 (clean), Node v20.20.2 on linux/x64, wasm backend, plain SIMD build, 1 thread`. */
export function describeProvenance(p: Provenance): string {
  const code = p.commit === null ? 'no git commit (not a checkout)' : `commit \`${p.commit.slice(0, 10)}\` (${p.dirty ? 'with uncommitted changes' : 'clean'})`;
  return `${code}, Node ${p.node} on ${p.platform}, ${p.backend} backend, ${p.simd} SIMD build, ${p.threads} thread${p.threads === 1 ? '' : 's'}`;
}

const fileOf = (name: string) => `${name}.provenance.json`;

/** Records that the stage output `name` in `folder` was computed with `provenance`. */
export async function writeProvenance(folder: WritableFolder, name: string, provenance: Provenance): Promise<void> {
  await folder.write(fileOf(name), [jsonBytes(provenance)]);
}

/** The recorded provenance of `name` in `folder`, or null when none was recorded. */
export async function readProvenance(folder: WritableFolder, name: string): Promise<Provenance | null> {
  if (!(await folder.exists(fileOf(name)))) return null;
  return parseJsonBytes(await readFile(folder, fileOf(name)), fileOf(name)) as Provenance;
}
