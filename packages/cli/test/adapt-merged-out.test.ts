// `lorafuse adapt --merged-out`: the base model with the adapted result
// folded into its weights must score like the base model with the adapter
// applied (two different paths: folded weights vs the LoRA forward pass),
// and carry every other file of the base folder except its weights.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeByteModel } from './byte-model.js';
import { cli } from './cli-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'lorafuse-merged-out-'));
const model = await writeByteModel(join(dir, 'base'));
// Files a Hugging Face folder carries besides its weights, which the merged folder needs too; and stale weights in other formats, which it must not get.
const EXTRA = {
  'generation_config.json': '{"max_new_tokens": 32, "do_sample": false}\n',
  'tokenizer_config.json': '{"model_max_length": 128}\n',
  'special_tokens_map.json': '{"eos_token": "</s>"}\n',
  'chat_template.jinja': '{% for m in messages %}{{ m.content }}{% endfor %}\n',
};
for (const [name, text] of Object.entries(EXTRA)) writeFileSync(join(model, name), text);
for (const stale of ['pytorch_model.bin', 'model.gguf']) writeFileSync(join(model, stale), 'stale weights');
const data = join(dir, 'target.jsonl');
writeFileSync(
  data,
  ['cut removes sections', 'paste merges lines', 'sort orders lines', 'uniq drops repeats']
    .map((s, i) => JSON.stringify({ source: s, summary: `text ${i}` }))
    .join('\n') + '\n',
);

describe('lorafuse adapt --merged-out', () => {
  it('writes a base model with the adapted LoRA folded in that scores as base + adapter', async () => {
    for (const name of ['target', 'related']) {
      const t = await cli(
        'train',
        '--model',
        model,
        '--train',
        data,
        '--rank',
        '2',
        '--epochs',
        '1',
        '--seed',
        name === 'target' ? '1' : '2',
        '--out',
        join(dir, name),
        '--backend',
        'reference',
        '--json',
      );
      expect(t.code, t.err).toBe(0);
    }
    const merged = join(dir, 'merged-model');
    const a = await cli(
      'adapt',
      '--model',
      model,
      '--target',
      join(dir, 'target'),
      '--related',
      join(dir, 'related'),
      '--train',
      data,
      '--epochs',
      '2',
      '--accumulation',
      '1',
      '--lr',
      '0.01',
      '--prune-ratio',
      '0.3',
      '--out',
      join(dir, 'adapted'),
      '--merged-out',
      merged,
      '--backend',
      'reference',
      '--json',
    );
    expect(a.code, a.err).toBe(0);
    const withAdapter = await cli('eval', '--model', model, '--adapter', join(dir, 'adapted'), '--data', data, '--backend', 'reference', '--json');
    const folded = await cli('eval', '--model', merged, '--data', data, '--backend', 'reference', '--json');
    const base = await cli('eval', '--model', model, '--data', data, '--backend', 'reference', '--json');
    const loss = (r: { out: string }) => (JSON.parse(r.out) as { loss: number }).loss;
    expect(Math.abs(loss(folded) - loss(withAdapter))).toBeLessThan(1e-5);
    expect(Math.abs(loss(base) - loss(withAdapter))).toBeGreaterThan(1e-3);
    expect(readdirSync(merged).sort()).toEqual(['config.json', 'model.safetensors', ...Object.keys(EXTRA)].sort());
    for (const [name, text] of Object.entries(EXTRA)) expect(readFileSync(join(merged, name), 'utf8')).toBe(text);
  });
});
