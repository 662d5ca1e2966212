import { describe, expect, it } from 'vitest';
import { WaitPacer, runningOnNode } from '../src/gpu/wait-pacer.js';

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long `pacer.wait` lets pass before it makes the request, for work of `dispatches` dispatches. */
async function delayBeforeRequest(pacer: WaitPacer, dispatches: number): Promise<number> {
  const started = performance.now();
  let asked = 0;
  await pacer.wait(dispatches, async () => {
    asked = performance.now() - started;
    await after(40);
  });
  return asked;
}

describe('WaitPacer', () => {
  it('sleeps for half the device time it learned before asking, in proportion to the dispatches', async () => {
    const pacer = new WaitPacer(true);
    // First wait: nothing learned yet, so it asks at once; the request takes 40 ms for 10 dispatches.
    expect(await delayBeforeRequest(pacer, 10)).toBeLessThan(10);
    // About 4 ms per dispatch learned: 10 dispatches → a sleep of about 20 ms, 5 → about 10 ms.
    expect(await delayBeforeRequest(pacer, 10)).toBeGreaterThanOrEqual(15);
    const half = await delayBeforeRequest(pacer, 5);
    expect(half).toBeGreaterThanOrEqual(7);
    expect(half).toBeLessThan(20);
  });

  it('only measures when told not to sleep (browsers), and passes results and failures through', async () => {
    const pacer = new WaitPacer(false);
    await delayBeforeRequest(pacer, 10);
    expect(await delayBeforeRequest(pacer, 10)).toBeLessThan(10);
    await expect(pacer.wait(1, async () => 7)).resolves.toBe(7);
    await expect(pacer.wait(1, () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
  });

  it('knows it runs on Node here', () => {
    expect(runningOnNode()).toBe(true);
  });
});
