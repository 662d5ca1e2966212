// The trainer's tokens-per-second figure against hand-computed rates of
// completed steps, with the completion patterns a run meets.
import { describe, expect, it } from 'vitest';
import { Throughput } from '../src/train/throughput.js';

describe('Throughput', () => {
  it('gives each step its share of the device time when steps complete in pairs (running ahead)', () => {
    // 1000 tokens a step, 2 s of device time each; a step's values arrive with the next step's passes.
    const t = new Throughput();
    const completions = [4000, 4010, 8000, 8010, 12000, 12010];
    const rates = completions.map((at, i) => t.complete(i === 0 ? 0 : completions[i - 1], at, 1000));
    // The first step's values wait for the second step's passes: two steps' time, one step's tokens.
    expect(rates[0]).toBeCloseTo(250, 6);
    for (const rate of rates.slice(1)) expect(Math.abs(rate - 500) / 500).toBeLessThan(0.01);
  });

  it('is the mean of the last two steps when each completes on its own', () => {
    const t = new Throughput();
    // Steps of 100 tokens taking 1 s, then one of 300 tokens taking 1 s.
    expect(t.complete(0, 1000, 100)).toBeCloseTo(100, 9);
    expect(t.complete(1000, 2000, 100)).toBeCloseTo(100, 9);
    expect(t.complete(2000, 3000, 300)).toBeCloseTo(200, 9);
  });

  it('leaves out the time before a restart (an evaluation between epochs)', () => {
    const t = new Throughput();
    t.complete(0, 1000, 100);
    t.restart(61_000);
    expect(t.complete(61_000, 62_000, 100)).toBeCloseTo(100, 9);
    expect(t.complete(62_000, 63_000, 100)).toBeCloseTo(100, 9);
  });

  it('stays finite when a clock gives the same reading twice', () => {
    expect(Number.isFinite(new Throughput().complete(5, 5, 10))).toBe(true);
  });
});
