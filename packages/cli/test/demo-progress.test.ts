// The progress display `lorafuse demo` uses: a bar redrawn in place on a
// terminal, one line per finished task otherwise, nothing when quiet.
import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/progress.js';
import { captureIO } from './cli-helpers.js';

describe('progressBar', () => {
  it('redraws one bar per task on a terminal, filled in proportion', () => {
    const { io, text } = captureIO(true);
    const bar = progressBar(io, false);
    bar.update('pretrain', 1, 4);
    bar.update('pretrain', 4, 4, 'loss 1.000');
    bar.update('evaluate', 0, 5);
    bar.end();
    const lines = text.err.split('\n');
    expect(lines).toHaveLength(3);
    const frames = lines[0].split('\r').filter(Boolean);
    expect(frames[0]).toMatch(/^pretrain\s+\[#{6}\.{18}\] 1\/4 /);
    expect(frames[1]).toMatch(/\[#{24}\] 4\/4 .*loss 1\.000/);
    expect(lines[1]).toMatch(/^\revaluate\s+\[\.{24}\] 0\/5/);
    expect(lines[2]).toBe('');
  });

  it('prints a line per finished task elsewhere, and nothing when quiet', () => {
    const plain = captureIO(false);
    const bar = progressBar(plain.io, false);
    bar.update('related LoRA weather', 1, 2);
    bar.update('related LoRA weather', 2, 2, 'loss 1.5');
    bar.end();
    expect(plain.text.err).toMatch(/^related LoRA weather: 2\/2 in \d+\.\ds {2}loss 1\.5\n$/);
    const quiet = captureIO(true);
    const silent = progressBar(quiet.io, true);
    silent.update('x', 1, 1);
    silent.end();
    expect(quiet.text.err).toBe('');
  });
});
