// `lorafuse adapt` end to end on the tiny fixture Llama (its layers, with a
// 259-row embedding and head so the byte-level tokenizer fits) with
// lora-qv-r8 as target and a rank-4 adapter as related. The written adapter
// is checked against an independent float64 sum Σ s_i·B_i·A_i of the factors
// of the same run repeated with adapt() here; the provenance hashes are
// recomputed with node:crypto.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CausalLM,
  ReferenceBackend,
  SafetensorsFile,
  Tensor,
  adapt,
  createAdapterConfig,
  createLoraModule,
  downloadAdapter,
  encodeRecord,
  loadAdapter,
  readJsonl,
  saveAdapter,
  uploadAdapter,
  writeSafetensors,
  type LoraAdapter,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from '../../core/test/fixtures/index.js';
import { cliPlugins } from '../src/runtime.js';
import { cli } from './cli-helpers.js';
import { lcg } from './lcg.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-'));
const VOCAB = 259;
const target = join(FIXTURES, 'lora-qv-r8');

const u = lcg(11);
const rand = () => u() * 2 - 1;
const randomF32 = (shape: number[], scale: number) =>
  Tensor.f32(
    shape,
    Float32Array.from({ length: shape[0] * shape[1] }, () => rand() * scale),
  );

async function writeModel(): Promise<string> {
  const folder = join(dir, 'model');
  const config = JSON.parse(await readFile(join(FIXTURES, 'llama-tiny/config.json'), 'utf8')) as Record<string, unknown>;
  Object.assign(config, { vocab_size: VOCAB, bos_token_id: 256, eos_token_id: 257 });
  const file = await SafetensorsFile.open(await fileSource(join(FIXTURES, 'llama-tiny/model.safetensors')));
  const tensors: Record<string, Tensor> = {};
  for (const t of file.tensors) tensors[t.name] = await file.read(t.name);
  tensors['model.embed_tokens.weight'] = randomF32([VOCAB, 32], 1);
  tensors['lm_head.weight'] = randomF32([VOCAB, 32], 0.3);
  await writeSafetensors(nodeFolder(folder), 'model.safetensors', tensors);
  await writeFile(join(folder, 'config.json'), JSON.stringify(config));
  return folder;
}

/** A rank-4 adapter on the target's modules with alpha 8 and its own random factors. */
async function writeRelated(host: LoraAdapter): Promise<string> {
  const folder = join(dir, 'related');
  const config = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: host.config.targetModules });
  const modules = host.modules.map((m) => createLoraModule(config, m.name, randomF32([4, m.a.shape[1]], 0.2), randomF32([m.b.shape[0], 4], 0.2)));
  await saveAdapter(nodeFolder(folder), { config, modules });
  return folder;
}

const model = await writeModel();
const targetHost = await loadAdapter(nodeFolder(target));
const related = await writeRelated(targetHost);
const data = join(dir, 'data.jsonl');
await writeFile(
  data,
  [
    { source: 'ls lists directory contents', summary: 'list files' },
    { source: 'cp copies files', summary: 'copy files' },
    { source: 'rm removes files', summary: 'remove' },
    { source: 'mv moves files', summary: 'move files' },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n') + '\n',
);
const RUN = { ratio: 0.5, epochs: 1, lr: 5e-3, accumulation: 2, batchSize: 1, seed: 3 };
const args = ['--model', model, '--target', target, '--related', related, '--train', data, '--backend', 'reference'];
const runArgs = [...args, '--prune-ratio', '0.5', '--epochs', '1', '--lr', '5e-3', '--accumulation', '2', '--batch-size', '1', '--seed', '3'];

/** The same run through adapt() directly: the trained, pruned factors of both adapters. */
async function trainedHere(): Promise<LoraAdapter[]> {
  const backend = new ReferenceBackend();
  const lm = await CausalLM.load(backend, nodeFolder(model));
  const tokenizer = new ByteTokenizer();
  const examples = (await readJsonl(await fileSource(data))).map((r) => encodeRecord(r, tokenizer, { maxLength: lm.config.maxPositionEmbeddings }));
  const hosts = [targetHost, await loadAdapter(nodeFolder(related))];
  const devices = hosts.map((h) => uploadAdapter(backend, h));
  const { ratio, epochs, lr, accumulation, batchSize, seed } = RUN;
  for await (const _ of adapt(backend, lm, {
    adapters: devices,
    train: examples,
    padId: tokenizer.pad,
    plugins: cliPlugins(seed),
    ratio,
    epochs,
    lr,
    accumulation,
    batchSize,
    seed,
  }))
    void _;
  return Promise.all(devices.map((d, i) => downloadAdapter(backend, d, hosts[i].config)));
}

/** Row-major float64 scaling·B·A. */
function delta(a: Tensor, b: Tensor, scaling: number): Float64Array {
  const [r, inF] = a.shape;
  const out = b.shape[0];
  const av = a.toFloat32();
  const bv = b.toFloat32();
  const d = new Float64Array(out * inF);
  for (let i = 0; i < out; i++) for (let k = 0; k < r; k++) for (let j = 0; j < inF; j++) d[i * inF + j] += scaling * bv[i * r + k] * av[k * inF + j];
  return d;
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('lorafuse adapt', () => {
  it('writes the exact cat merge of the trained, pruned factors and a provenance file with the input hashes', async () => {
    const out = join(dir, 'out');
    const { code, out: stdout, err } = await cli('adapt', ...runArgs, '--out', out, '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { out: string; steps: number; loss: { train: number }; sparsity: { module: string; sparsity: number }[] };
    expect(summary.out).toBe(out);
    expect(summary.steps).toBe(2);
    expect(Number.isFinite(summary.loss.train)).toBe(true);
    expect(summary.sparsity).toHaveLength(targetHost.modules.length);
    for (const m of summary.sparsity) expect(m.sparsity).toBe(0.5);

    const merged = await loadAdapter(nodeFolder(out));
    const trained = await trainedHere();
    let worst = 0;
    for (const m of merged.modules) {
      expect(m.a.shape[0]).toBe(12);
      const got = delta(m.a, m.b, m.scaling);
      const want = new Float64Array(got.length);
      for (const adapter of trained) {
        const t = adapter.modules.find((x) => x.name === m.name)!;
        delta(t.a, t.b, t.scaling).forEach((v, i) => {
          want[i] += v;
        });
      }
      const scale = Math.max(...want.map(Math.abs));
      got.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - want[i]) / scale);
      });
      // Each source block of the cat factors keeps the pruned zeros: half of every A and B.
      const a = m.a.toFloat32();
      const b = m.b.toFloat32();
      const inF = m.a.shape[1];
      const out = m.b.shape[0];
      for (const [start, rank] of [
        [0, 8],
        [8, 4],
      ]) {
        expect(a.subarray(start * inF, (start + rank) * inF).filter((v) => v === 0).length).toBe((rank * inF) / 2);
        let zeros = 0;
        for (let i = 0; i < out; i++) for (let k = start; k < start + rank; k++) if (b[i * 12 + k] === 0) zeros++;
        expect(zeros).toBe((out * rank) / 2);
      }
    }
    expect(worst).toBeLessThan(1e-5);

    const provenance = JSON.parse(await readFile(join(out, 'lorafuse.json'), 'utf8')) as {
      inputs: { role: string; path: string; sha256: string }[];
      versions: Record<string, string>;
      options: { ratio: number; metric: string };
    };
    const expected = [
      ['model', join(model, 'config.json')],
      ['model', join(model, 'model.safetensors')],
      ['target', join(target, 'adapter_config.json')],
      ['target', join(target, 'adapter_model.safetensors')],
      ['related', join(related, 'adapter_config.json')],
      ['related', join(related, 'adapter_model.safetensors')],
      ['train', data],
    ];
    expect(provenance.inputs).toEqual(await Promise.all(expected.map(async ([role, path]) => ({ role, path, sha256: await sha256(path) }))));
    expect(provenance.options).toMatchObject({ ratio: 0.5, metric: 'lora' });
    expect(Object.keys(provenance.versions).sort()).toEqual(['@lorafuse/cli', '@lorafuse/core']);
  });

  it('prints one line per step with loss, learning rate and mean sparsity, then where it wrote', async () => {
    const out = join(dir, 'text');
    const { code, out: stdout, err } = await cli('adapt', ...runArgs, '--out', out);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.slice(0, 2).entries())
      expect(line).toMatch(new RegExp(`^step ${i + 1}  epoch 0  loss \\d+\\.\\d{4}  lr 5\\.00e-3  sparsity 0\\.500$`));
    expect(lines[2]).toMatch(new RegExp(`^wrote ${out}: 2 steps, rank 12, loss `));
  });

  it.each([
    ['a missing --target', ['--model', model, '--train', data, '--out', join(dir, 'x')], /--target is required/],
    ['an unknown metric', [...args, '--metric', 'nope', '--out', join(dir, 'x')], /--metric must be one of/],
    ['a ratio out of range', [...args, '--prune-ratio', '1.5', '--out', join(dir, 'x')], /--prune-ratio must be a number in \[0, 1\]/],
    ['an unknown schedule', [...args, '--schedule', 'sometimes', '--out', join(dir, 'x')], /--schedule must be one of/],
  ])('refuses %s with one CLI_USAGE line and exit code 2', async (_, argv, message) => {
    const { code, err } = await cli('adapt', ...argv);
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(message);
    expect(err).toContain('[CLI_USAGE]');
  });
});
