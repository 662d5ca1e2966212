// `lorafuse adapt --checkpoint`: a checkpoint folder is resumed only by the
// run that made it (other options or changed inputs: CHECKPOINT_MISMATCH;
// no --resume: refused), and a --prune-ratio grid keeps its finished and
// failed ratios there, so that a resumed grid does not run them again. A
// ratio whose run fails (a schedule plugin that refuses 0.7) is reported on
// one line and in the JSON summary, and the other ratios are kept.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flags, inputFlags, writeAdaptFixture, writePairs } from './adapt-fixture.js';
import { cli } from './cli-helpers.js';

const FAILING = fileURLToPath(new URL('./plugins/failing-schedule.mjs', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'lorafuse-adapt-checkpoint-'));
const f = await writeAdaptFixture(dir);
const base = (train = f.train) => [...inputFlags(f, train), ...flags('--epochs 2 --batch-size 2 --accumulation 1 --lr 0.01 --backend reference')];

describe('lorafuse adapt --checkpoint: whose checkpoint it is', () => {
  const ck = join(dir, 'ck');
  it('writes a checkpoint that only the same run resumes', async () => {
    const first = await cli('adapt', ...base(), '--checkpoint', ck, '--out', join(dir, 'a'), '--json');
    expect(first.code, first.err).toBe(0);
    expect(existsSync(join(ck, 'trainer-state.safetensors'))).toBe(true);

    const again = await cli('adapt', ...base(), '--checkpoint', ck, '--out', join(dir, 'b'));
    expect(again.code).toBe(2);
    expect(again.err).toBe(
      `lorafuse: adapt: --checkpoint ${ck} already holds a checkpoint; add --resume to continue that run, or choose an empty folder. [CLI_USAGE]\n`,
    );

    const lr = await cli('adapt', ...base(), '--lr', '0.02', '--checkpoint', ck, '--resume', '--out', join(dir, 'b'));
    expect(lr.code).toBe(1);
    expect(lr.err).toContain(`--checkpoint ${ck} belongs to another run: it was made with lr 0.01, not 0.02.`);
    expect(lr.err).toContain('[CHECKPOINT_MISMATCH]');

    const changed = writePairs(join(dir, 'changed.jsonl'), [['ls lists files', 'list them']]);
    const data = await cli('adapt', ...base(changed), '--checkpoint', ck, '--resume', '--out', join(dir, 'b'));
    expect(data.code).toBe(1);
    expect(data.err).toContain('belongs to another run: the train input has changed since');

    // The same run resumed from its end writes the same files.
    const resumed = await cli('adapt', ...base(), '--checkpoint', ck, '--resume', '--out', join(dir, 'c'), '--json');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toBe(first.out.replace(join(dir, 'a'), join(dir, 'c')));
    for (const file of ['adapter_model.safetensors', 'adapter_config.json', 'lorafuse.json'])
      expect(readFileSync(join(dir, 'c', file)).equals(readFileSync(join(dir, 'a', file))), file).toBe(true);
  });

  it('refuses a trainer checkpoint that lorafuse adapt did not make, and --resume without --checkpoint', async () => {
    const foreign = join(dir, 'foreign');
    await cp(ck, foreign, { recursive: true });
    rmSync(join(foreign, 'adapt-run.json'));
    const r = await cli('adapt', ...base(), '--checkpoint', foreign, '--resume', '--out', join(dir, 'd'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('holds a trainer checkpoint without adapt-run.json; it was not made by lorafuse adapt. [CHECKPOINT_MISMATCH]');
    for (const flag of [['--resume'], ['--checkpoint-every', '2']]) {
      const u = await cli('adapt', ...base(), ...flag, '--out', join(dir, 'd'));
      expect(u.code).toBe(2);
      expect(u.err).toContain('--resume and --checkpoint-every need --checkpoint <dir>');
    }
  });

  it('--resume on an empty folder starts from the beginning and says so', async () => {
    const r = await cli('adapt', ...base(), '--checkpoint', join(dir, 'empty'), '--resume', '--out', join(dir, 'e'), '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(`no checkpoint in ${join(dir, 'empty')} yet: starting from the first step\n`);
    expect(readFileSync(join(dir, 'e', 'adapter_model.safetensors')).equals(readFileSync(join(dir, 'a', 'adapter_model.safetensors')))).toBe(true);
  });
});

describe('lorafuse adapt --prune-ratio <grid> with a failing ratio', () => {
  const grid = [...base(), '--val', f.dev, '--max-new-tokens', '4', '--plugin', FAILING, '--schedule', 'test/fails-at-0.7', '--prune-ratio', '0.3,0.7,0.5'];
  type Summary = { grid: { chosen: number; candidates: { ratio: number }[]; failed: { ratio: number; code: string; message: string }[] } };

  it('reports the failed ratio on one line and in the summary, keeps the others, and a resume runs none of them again', async () => {
    const ck = join(dir, 'grid-ck');
    const r = await cli('adapt', ...grid, '--checkpoint', ck, '--out', join(dir, 'grid'), '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('prune ratio 0.7 failed and is left out: test/fails-at-0.7 refuses ratio 0.7 [PRUNE_INPUT_MISSING]\n');
    const summary = JSON.parse(r.out) as Summary;
    expect(summary.grid.candidates.map((c) => c.ratio)).toEqual([0.3, 0.5]);
    expect(summary.grid.failed).toEqual([{ ratio: 0.7, code: 'PRUNE_INPUT_MISSING', message: 'test/fails-at-0.7 refuses ratio 0.7' }]);
    const provenance = JSON.parse(readFileSync(join(dir, 'grid', 'lorafuse.json'), 'utf8')) as { options: { ratio: number; ratioGrid: Summary['grid'] } };
    expect(provenance.options.ratioGrid).toEqual(summary.grid);
    expect(provenance.options.ratio).toBe(summary.grid.chosen);

    // Resumed after it finished: no step is run again (no step lines), the same files are written.
    const resumed = await cli('adapt', ...grid, '--checkpoint', ck, '--resume', '--out', join(dir, 'grid-again'));
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err.split('\n').filter((l) => l.startsWith('step '))).toEqual([]);
    expect(resumed.err).toContain('prune ratio 0.7 failed and is left out');
    for (const file of ['adapter_model.safetensors', 'adapter_config.json', 'lorafuse.json'])
      expect(readFileSync(join(dir, 'grid-again', file)).equals(readFileSync(join(dir, 'grid', file))), file).toBe(true);
  });
});
