// Access to the merge fixtures written by scripts/fixtures/make_merge_fixtures.py
// (PEFT 0.21 add_weighted_adapter in float64), and float64 references computed
// here, independently of the code under test.
import { readFileSync } from 'node:fs';
import { loadAdapter, SafetensorsFile, type DareMaskSource, type LoraAdapter, type LoraModule, type MergeOptions } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from './fixtures/index.js';

/** The folder of the merge fixtures. */
export const MERGE_FIXTURES = `${FIXTURES}/merge`;

/** One add_weighted_adapter call as cases.json records it. */
export interface MergeCase {
  name: string;
  set: 'equal' | 'mixed';
  combination_type: string;
  weights: number[];
  density?: number;
  majority_sign_method?: 'total' | 'frequency';
  svd_rank?: number;
  adapters: string[];
  r: number;
  lora_alpha: number;
  modules: Array<{ name: string; rank: number; scaling: number }>;
}

/** cases.json. */
export const mergeCases: MergeCase[] = JSON.parse(readFileSync(`${MERGE_FIXTURES}/cases.json`, 'utf8')).cases;

/** The input adapter `name` (eq0…eq2, mx0…mx2). */
export function mergeInput(name: string): Promise<LoraAdapter> {
  return loadAdapter(nodeFolder(`${MERGE_FIXTURES}/adapters/${name}`));
}

/** deltas.safetensors. */
export async function mergeReferences(): Promise<SafetensorsFile> {
  return SafetensorsFile.open(await nodeFolder(MERGE_FIXTURES).open('deltas.safetensors'));
}

/** PEFT's B·A·scaling of module `module` in case `name`, widened to float64. */
export async function peftDelta(file: SafetensorsFile, name: string, module: string): Promise<Float64Array> {
  return Float64Array.from((await file.read(`${name}.${module}`)).toFloat32());
}

/** A mask source replaying the drop masks PEFT drew for case `name`. */
export async function peftMasks(file: SafetensorsFile, name: string): Promise<DareMaskSource> {
  const masks = new Map<string, Uint8Array>();
  for (const key of file.tensors.map((t) => t.name).filter((k) => k.startsWith(`mask.${name}.`))) masks.set(key, (await file.read(key)).data as Uint8Array);
  return ({ module, target, adapter }) => {
    const mask = masks.get(`mask.${name}.${module}.${target}.${adapter}`);
    if (!mask) throw new Error(`no PEFT mask for ${module} ${target} ${adapter} in ${name}`);
    return mask;
  };
}

/** The merge options of a case, as our mergers take them. */
export function caseOptions(c: MergeCase): MergeOptions {
  return { weights: c.weights, density: c.density, majoritySignMethod: c.majority_sign_method, rank: c.svd_rank };
}

/** `scaling · B·A` of `m` in float64, by plain loops. */
export function denseDelta(m: LoraModule): Float64Array {
  const [out, r] = m.b.shape;
  const inDim = m.a.shape[1];
  const a = m.a.toFloat32();
  const b = m.b.toFloat32();
  const d = new Float64Array(out * inDim);
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < inDim; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[i * r + k] * a[k * inDim + j];
      d[i * inDim + j] = s * m.scaling;
    }
  }
  return d;
}
