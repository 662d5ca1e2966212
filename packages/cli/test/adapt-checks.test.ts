// `lorafuse adapt` decides what can be wrong with its inputs before any
// training step and before the model's weights are read: an adapter made for
// another model (ADAPTER_MODEL_MISMATCH naming its folder), adapters whose
// cat merge is impossible (MERGE_INCOMPATIBLE) and an output folder that is,
// or lies inside, an input (OUTPUT_OVERLAPS_INPUT). Every file read goes
// through node:fs, which is wrapped here to record the byte ranges read from
// the model's safetensors file: in these failures nothing past its header
// may be read (nor hashed); a successful run, the control, reads the weights
// and hashes every input before it writes its first file.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { flags, writeAdapter, writeAdaptFixture } from './adapt-fixture.js';
import { cli } from './cli-helpers.js';

/** Byte ranges read from each file (by absolute path), and the files read as streams. */
const reads = vi.hoisted(() => ({ ranges: new Map<string, [number, number][]>(), streamed: new Set<string>(), order: [] as string[] }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args);
    const path = String(args[0]);
    if (/[wa]/.test(String(args[1] ?? 'r'))) reads.order.push(`write ${path}`);
    const read = handle.read.bind(handle) as (...a: unknown[]) => ReturnType<typeof handle.read>;
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'read')
          return (buffer: Uint8Array, offset: number, length: number, position: number) => {
            const list = reads.ranges.get(path) ?? [];
            list.push([position, length]);
            reads.ranges.set(path, list);
            return read(buffer, offset, length, position);
          };
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...fs, open, default: { ...fs, open } };
});
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const createReadStream = (path: string, ...rest: unknown[]) => {
    reads.streamed.add(resolve(String(path)));
    reads.order.push(`hash ${resolve(String(path))}`);
    return (fs.createReadStream as (...a: unknown[]) => ReturnType<typeof fs.createReadStream>)(path, ...rest);
  };
  return { ...fs, createReadStream, default: { ...fs, createReadStream } };
});

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-checks-'));
const f = await writeAdaptFixture(dir);
const weights = resolve(f.model, 'model.safetensors');
const header = await readFile(weights);
/** Where the tensor data of the model's safetensors file starts: after the 8-byte length and the JSON header. */
const dataStart = 8 + Number(header.readBigUInt64LE(0));
const run = ['--train', f.train, ...flags('--epochs 1 --accumulation 2 --batch-size 1 --backend reference --json')];

/** The ranges read from the model's tensor data, and whether the file was hashed. */
const weightReads = () => ({
  data: (reads.ranges.get(weights) ?? []).filter(([position, length]) => position + length > dataStart),
  hashed: reads.streamed.has(weights),
});

beforeEach(() => {
  reads.ranges.clear();
  reads.streamed.clear();
  reads.order.length = 0;
});

describe('lorafuse adapt, before any weight is read', () => {
  it('control: a run that trains reads the model weights and hashes the file', async () => {
    const r = await cli('adapt', '--model', f.model, '--target', f.target, '--related', f.related, ...run, '--out', join(dir, 'ok'));
    expect(r.code, r.err).toBe(0);
    expect(weightReads().data.length).toBeGreaterThan(0);
    expect(weightReads().hashed).toBe(true);
    // Every input is hashed before the first file is written.
    const lastHash = reads.order.map((e) => e.startsWith('hash ')).lastIndexOf(true);
    const firstWrite = reads.order.findIndex((e) => e.startsWith('write '));
    expect(lastHash).toBeGreaterThan(0);
    expect(firstWrite).toBeGreaterThan(lastHash);
    // Adapters on other modules merge on the union: q,v of the target; q,k,v,o of the related one.
    const merged = await loadAdapter(nodeFolder(join(dir, 'ok')));
    expect(merged.modules.map((m) => [m.name.replace('model.layers.', ''), m.rank]).sort()).toEqual(
      [
        ['0.self_attn.k_proj', 2],
        ['0.self_attn.o_proj', 2],
        ['0.self_attn.q_proj', 6],
        ['0.self_attn.v_proj', 6],
        ['1.self_attn.k_proj', 2],
        ['1.self_attn.o_proj', 2],
        ['1.self_attn.q_proj', 6],
        ['1.self_attn.v_proj', 6],
      ].sort(),
    );
  });

  it('an adapter made for another model: ADAPTER_MODEL_MISMATCH naming its folder', async () => {
    const other = await writeAdapter(join(dir, 'other-model'), { r: 2, alpha: 4, inFeatures: 48, seed: 3 });
    const r = await cli('adapt', '--model', f.model, '--target', f.target, '--related', f.related, '--related', other, ...run, '--out', join(dir, 'x1'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${other}: model.layers.0.self_attn.q_proj adapts a 32 × 48 weight, but the model's is 32 × 32`);
    expect(r.err).toContain('[ADAPTER_MODEL_MISMATCH]');
    expect(weightReads()).toEqual({ data: [], hashed: false });
  });

  it('adapters that cannot be merged (target_modules as a list and as a regular expression): MERGE_INCOMPATIBLE', async () => {
    const regex = await writeAdapter(join(dir, 'regex'), { r: 2, alpha: 4, regex: '.*\\.(q_proj|v_proj)', seed: 4 });
    const r = await cli('adapt', '--model', f.model, '--target', f.target, '--related', regex, ...run, '--out', join(dir, 'x2'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('[MERGE_INCOMPATIBLE]');
    expect(weightReads()).toEqual({ data: [], hashed: false });
  });

  it.each([
    ['--out equal to --target', () => ['--out', f.target], '--out', '--target', 'is'],
    ['--out inside --model', () => ['--out', join(f.model, 'adapted')], '--out', '--model', 'lies inside'],
    ['--out equal to --related, spelled differently', () => ['--out', `${f.related}/./`], '--out', '--related', 'is'],
    ['--merged-out equal to --model', () => ['--out', join(dir, 'x3'), '--merged-out', f.model], '--merged-out', '--model', 'is'],
    ['--checkpoint inside --target', () => ['--out', join(dir, 'x4'), '--checkpoint', join(f.target, 'ck')], '--checkpoint', '--target', 'lies inside'],
  ])('%s: OUTPUT_OVERLAPS_INPUT, and the input is left as it was', async (_, outputs, output, input, how) => {
    const before = await readFile(join(f.target, 'adapter_model.safetensors'));
    const r = await cli('adapt', '--model', f.model, '--target', f.target, '--related', f.related, ...run, ...outputs());
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^lorafuse: ${output} \\S+ ${how} the ${input} folder .*\\[OUTPUT_OVERLAPS_INPUT\\]\\n$`));
    expect(weightReads()).toEqual({ data: [], hashed: false });
    expect((await readFile(join(f.target, 'adapter_model.safetensors'))).equals(before)).toBe(true);
  });
});
