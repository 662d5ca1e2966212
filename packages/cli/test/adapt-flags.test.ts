// The adapt options on the command line — --norm-source, --refresh,
// --masks, --pruned-value, --lora-dropout — reach the run: the written
// adapter equals, bit for bit, adaptiveMerge() called here with the same
// options on the same backend (and differs from the run with the defaults),
// and lorafuse.json records them. Bad values are one CLI_USAGE line.
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CausalLM,
  ReferenceBackend,
  adaptiveMerge,
  encodeRecord,
  loadAdapter,
  readJsonl,
  type AdaptiveMergeOptions,
  type LoraAdapter,
} from '@lorafuse/core';
import { fileSource, nodeFolder } from '@lorafuse/core/node';
import { cliPlugins } from '../src/runtime.js';
import { flags, inputFlags, writeAdapter, writeAdaptFixture } from './adapt-fixture.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-flags-'));
const f = await writeAdaptFixture(dir);
// A related adapter with its own lora_dropout, the default when --lora-dropout is left out.
const related = await writeAdapter(join(dir, 'related-dropout'), { r: 2, alpha: 4, dropout: 0.2, seed: 6 });
const RUN = { epochs: 2, batchSize: 2, accumulation: 1, lr: 0.02, ratio: 0.4, seed: 9 };
const args = [
  ...inputFlags({ ...f, related }),
  ...flags('--epochs 2 --batch-size 2 --accumulation 1 --lr 0.02 --prune-ratio 0.4 --seed 9 --backend reference --json'),
];

/** The run through adaptiveMerge() here, with `options`. */
async function here(options: Partial<AdaptiveMergeOptions>): Promise<LoraAdapter> {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, nodeFolder(f.model));
  const tokenizer = new ByteTokenizer();
  const train = (await readJsonl(await fileSource(f.train))).map((r) => encodeRecord(r, tokenizer, { maxLength: model.config.maxPositionEmbeddings }));
  const adapters = [await loadAdapter(nodeFolder(f.target)), await loadAdapter(nodeFolder(related))];
  const result = await adaptiveMerge(backend, model, { ...RUN, adapters, train, padId: tokenizer.pad, plugins: cliPlugins(RUN.seed), ...options });
  return result.merged;
}

const factors = (a: LoraAdapter) => a.modules.map((m) => [Array.from(m.a.toFloat32()), Array.from(m.b.toFloat32())]);

describe('lorafuse adapt: the adapt options', () => {
  it.each([
    [
      'running norms, fixed masks, pruned entries reset, LoRA dropout 0.05 (wanda)',
      ['--metric', 'wanda', '--norm-source', 'running', '--masks', 'fixed', '--pruned-value', 'initial', '--lora-dropout', '0.05'],
      { metric: 'wanda', normSource: 'running', masks: 'fixed', prunedValue: 'initial', loraDropout: 0.05 },
      { metric: 'wanda', normSource: 'running', refresh: 'step', masks: 'fixed', prunedValue: 'initial', loraDropout: 0.05 },
    ],
    [
      "dataset norms refreshed per epoch, each adapter's own dropout (lora)",
      ['--refresh', 'epoch'],
      { refresh: 'epoch' },
      { metric: 'lora', normSource: 'dataset', refresh: 'epoch', masks: 'regrow', prunedValue: 'zero', loraDropout: [0, 0.2] },
    ],
  ] as const)('%s: the run adaptiveMerge gives, recorded in lorafuse.json', async (name, flags, options, recorded) => {
    const out = join(dir, name.replace(/\W+/g, '-'));
    const r = await cli('adapt', ...args, ...flags, '--out', out);
    expect(r.code, r.err).toBe(0);
    const written = await loadAdapter(nodeFolder(out));
    expect(factors(written)).toEqual(factors(await here(options as Partial<AdaptiveMergeOptions>)));
    expect(factors(written)).not.toEqual(factors(await here({})));
    const provenance = JSON.parse(readFileSync(join(out, 'lorafuse.json'), 'utf8')) as { options: Record<string, unknown> };
    expect(provenance.options).toMatchObject(recorded);
  });

  it.each([
    ['--norm-source=weekly', /--norm-source must be dataset or running, got weekly/],
    ['--refresh=never', /--refresh must be step or epoch, got never/],
    ['--masks=frozen', /--masks must be regrow or fixed, got frozen/],
    ['--pruned-value=one', /--pruned-value must be zero or initial, got one/],
    ['--lora-dropout=1', /--lora-dropout must be a probability in \[0, 1\), got 1/],
    ['--lora-dropout=-0.1', /--lora-dropout must be a number in \[0, 1\], got -0.1/],
  ])('%s is one CLI_USAGE line', async (option, message) => {
    const r = await cli('adapt', ...args, option, '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(message);
  });

  it('--help documents every adapt option', async () => {
    const r = await cli('adapt', '--help');
    for (const option of ['--norm-source', '--refresh', '--masks', '--pruned-value', '--lora-dropout', '--checkpoint', '--checkpoint-every', '--resume'])
      expect(r.out).toMatch(new RegExp(`\n  ${option}[ \n]`));
  });
});
