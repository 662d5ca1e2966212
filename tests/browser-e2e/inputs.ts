// Inputs of the file-picking flow, written to a folder in Node: the small
// byte-level Llama of the command-line tests, the lora-qv-r8 fixture
// (PEFT-made, same projection shapes) as target, a rank-4 related adapter,
// and deterministic training pairs. Loaded with Vite's module runner, so
// the packages resolve to their sources.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tensor, createAdapterConfig, createLoraModule, loadAdapter, saveAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { writeByteModel } from '../../packages/cli/test/byte-model.js';
import { lcg } from '../../packages/cli/test/lcg.js';

/** A small linear congruential stream in [-1, 1): fixed inputs, not a statistical claim. */
function stream(seed: number): () => number {
  const u = lcg(seed);
  return () => u() * 2 - 1;
}

/** Folder paths of the written inputs. */
export interface FlowInputs {
  readonly model: string;
  readonly target: string;
  readonly related: string;
  readonly train: string;
  /** The first four pairs only: a two-step run for slow (software WebGPU) backends. */
  readonly small: string;
}

/** Writes the inputs under `dir` from the core test fixtures in `fixtures`. */
export async function writeFlowInputs(dir: string, fixtures: string, examples = 24): Promise<FlowInputs> {
  const rand = stream(11);
  const randomF32 = (shape: number[], scale: number) =>
    Tensor.f32(
      shape,
      Float32Array.from({ length: shape[0] * shape[1] }, () => rand() * scale),
    );
  const model = await writeByteModel(join(dir, 'model'));

  const target = join(dir, 'target');
  const host = await loadAdapter(nodeFolder(join(fixtures, 'lora-qv-r8')));
  await saveAdapter(nodeFolder(target), host);
  const related = join(dir, 'related');
  const relatedConfig = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: host.config.targetModules });
  const modules = host.modules.map((m) => createLoraModule(relatedConfig, m.name, randomF32([4, m.a.shape[1]], 0.2), randomF32([m.b.shape[0], 4], 0.2)));
  await saveAdapter(nodeFolder(related), { config: relatedConfig, modules });

  const verbs = ['lists', 'copies', 'moves', 'removes', 'prints', 'sorts', 'counts', 'finds'];
  const nouns = ['files', 'lines', 'words', 'folders'];
  const lines = Array.from({ length: examples }, (_, i) => {
    const verb = verbs[i % verbs.length];
    const noun = nouns[Math.floor(i / verbs.length) % nouns.length];
    return JSON.stringify({ source: `the tool ${verb} ${noun} quickly`, summary: `${verb} ${noun}` });
  });
  const train = join(dir, 'train.jsonl');
  await writeFile(train, lines.join('\n') + '\n');
  const small = join(dir, 'small.jsonl');
  await writeFile(small, lines.slice(0, 4).join('\n') + '\n');
  return { model, target, related, train, small };
}
