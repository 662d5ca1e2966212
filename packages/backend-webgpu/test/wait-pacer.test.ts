import { describe, expect, it } from 'vitest';
import { WaitPacer, runningOnNode } from '../src/gpu/wait-pacer.js';

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long `pacer.wait` lets pass before it makes a request that takes `takes` ms, for work of `signature`. */
async function delayBeforeRequest(pacer: WaitPacer, signature: string, takes = 40): Promise<number> {
  const started = performance.now();
  let asked = 0;
  await pacer.wait(signature, async () => {
    asked = performance.now() - started;
    await after(takes);
  });
  return asked;
}

describe('WaitPacer', () => {
  it('sleeps for half the time the same work took before asking, and never for work it has not seen', async () => {
    const pacer = new WaitPacer(true);
    // First time: nothing known, so it asks at once; the request takes 40 ms.
    expect(await delayBeforeRequest(pacer, 'step')).toBeLessThan(10);
    // The same work again: a sleep of about 20 ms first.
    expect(await delayBeforeRequest(pacer, 'step')).toBeGreaterThanOrEqual(15);
    // Other work (a 1 ms read after a long step, say) is not delayed by what the step took.
    expect(await delayBeforeRequest(pacer, 'read', 1)).toBeLessThan(10);
  });

  it('learns down when the work got faster', async () => {
    const pacer = new WaitPacer(true);
    await delayBeforeRequest(pacer, 'step', 60);
    let delay = Infinity;
    for (let i = 0; i < 12; i++) delay = await delayBeforeRequest(pacer, 'step', 2);
    expect(delay).toBeLessThan(10);
  });

  it('only measures when told not to sleep (browsers), and passes results and failures through', async () => {
    const pacer = new WaitPacer(false);
    await delayBeforeRequest(pacer, 'step');
    expect(await delayBeforeRequest(pacer, 'step')).toBeLessThan(10);
    await expect(pacer.wait('x', async () => 7)).resolves.toBe(7);
    await expect(pacer.wait('x', () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
  });

  it('knows it runs on Node here', () => {
    expect(runningOnNode()).toBe(true);
  });
});
