import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, createAdapterConfig, createLoraModule, saveAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from './byte-model.js';
import { lcg } from './lcg.js';

/** Output and input features of the projections of the byte model (hidden 32, 4 heads, 2 KV heads of 8). */
const PROJECTIONS: Readonly<Record<string, readonly [number, number]>> = { q_proj: [32, 32], k_proj: [16, 32], v_proj: [16, 32], o_proj: [32, 32] };

/** What {@link writeAdapter} makes. */
export interface AdapterSpec {
  readonly r: number;
  readonly alpha: number;
  /** Projections adapted in both layers (default q_proj, v_proj). */
  readonly targets?: readonly string[];
  /** `target_modules` as a regular expression instead of a list. */
  readonly regex?: string;
  /** `lora_dropout` (default 0). */
  readonly dropout?: number;
  /** Input features of every A (default the model's): another value makes an adapter for another model. */
  readonly inFeatures?: number;
  readonly seed: number;
}

/** A PEFT adapter for the byte model with seeded random factors (B too, so that every factor trains and prunes). */
export async function writeAdapter(dir: string, spec: AdapterSpec): Promise<string> {
  const targets = spec.targets ?? ['q_proj', 'v_proj'];
  const config = createAdapterConfig({ r: spec.r, loraAlpha: spec.alpha, targetModules: spec.regex ?? targets, loraDropout: spec.dropout ?? 0 });
  const u = lcg(spec.seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => (u() - 0.5) * 0.4);
  const modules = [0, 1].flatMap((layer) =>
    targets.map((proj) => {
      const [out, inF] = [PROJECTIONS[proj][0], spec.inFeatures ?? PROJECTIONS[proj][1]];
      return createLoraModule(
        config,
        `model.layers.${layer}.self_attn.${proj}`,
        Tensor.f32([spec.r, inF], rand(spec.r * inF)),
        Tensor.f32([out, spec.r], rand(out * spec.r)),
      );
    }),
  );
  await saveAdapter(nodeFolder(dir), { config, modules });
  return dir;
}

/** Writes JSONL pairs `{"source","summary"}`. */
export function writePairs(path: string, pairs: readonly (readonly [string, string])[]): string {
  writeFileSync(path, pairs.map(([source, summary]) => `${JSON.stringify({ source, summary })}\n`).join(''));
  return path;
}

/** What {@link writeAdaptFixture} wrote. */
export type AdaptFixture = Awaited<ReturnType<typeof writeAdaptFixture>>;

/** The input flags of `lorafuse adapt` for a fixture: its model, target, related adapter and training data (or `train`). */
export function inputFlags(f: AdaptFixture, train = f.train): string[] {
  return ['--model', f.model, '--target', f.target, '--related', f.related, '--train', train];
}

/** Flags written as one string, split at spaces (none of their values has one). */
export const flags = (line: string): string[] => line.split(' ');

/** The byte model, a target (r 4 on q,v), a related adapter (r 2 on q,k,v,o) and small train and dev sets, under `dir`. */
export async function writeAdaptFixture(dir: string) {
  return {
    model: await writeByteModel(join(dir, 'model')),
    target: await writeAdapter(join(dir, 'target'), { r: 4, alpha: 8, seed: 1 }),
    related: await writeAdapter(join(dir, 'related'), { r: 2, alpha: 4, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seed: 2 }),
    train: writePairs(join(dir, 'train.jsonl'), [
      ['ls lists files', 'list'],
      ['cp copies files', 'copy'],
      ['mv moves files', 'move'],
      ['rm removes files', 'remove'],
      ['du sums sizes', 'sizes'],
      ['df shows disks', 'disks'],
    ]),
    dev: writePairs(join(dir, 'dev.jsonl'), [
      ['cat joins files', 'join'],
      ['tee splits output', 'split'],
    ]),
  };
}
