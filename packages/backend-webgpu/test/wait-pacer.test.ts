import { describe, expect, it } from 'vitest';
import { WaitPacer, runningOnNode } from '../src/gpu/wait-pacer.js';

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Models a device: work submitted when the wait starts is done `takes` ms
 * later, and a request answers when the work is done (at once if it already is).
 * Returns how long the pacer let pass before it made the request.
 */
async function delayBeforeRequest(pacer: WaitPacer, signature: string, takes = 40): Promise<number> {
  const started = performance.now();
  let asked = 0;
  await pacer.wait(signature, async () => {
    asked = performance.now() - started;
    if (asked < takes) await after(takes - asked);
  });
  return asked;
}

describe('WaitPacer', () => {
  it('sleeps for most of the time the same work took before asking, and never for work it has not seen', async () => {
    const pacer = new WaitPacer(true);
    // First time: nothing known, so it asks at once; the work takes 40 ms.
    expect(await delayBeforeRequest(pacer, 'step')).toBeLessThan(10);
    // The same work again: a sleep of about 34 ms (85 %) first.
    expect(await delayBeforeRequest(pacer, 'step')).toBeGreaterThanOrEqual(28);
    // Other work (a 1 ms read after a long step, say) is not delayed by what the step took.
    expect(await delayBeforeRequest(pacer, 'read', 1)).toBeLessThan(10);
  });

  it('learns down when the work got faster, even though every sleep ends after it', async () => {
    const pacer = new WaitPacer(true);
    await delayBeforeRequest(pacer, 'step', 60);
    let delay = Infinity;
    for (let i = 0; i < 12; i++) delay = await delayBeforeRequest(pacer, 'step', 2);
    expect(delay).toBeLessThan(5);
  });

  it('lets the latest of overlapping waits do the polling, and wakes the earlier ones when it is answered', async () => {
    const pacer = new WaitPacer(true);
    // Teach it that the loss read alone takes 200 ms, so that its own sleep would be long.
    await delayBeforeRequest(pacer, 'loss', 200);
    const started = performance.now();
    const asked: Record<string, number> = {};
    const answered: Record<string, number> = {};
    const request = (name: string, doneAt: number) => async () => {
      asked[name] = performance.now() - started;
      if (asked[name] < doneAt) await after(doneAt - asked[name]);
      answered[name] = performance.now() - started;
    };
    // The loss is read without waiting, then more work is queued and its result awaited, as the trainer does.
    const loss = pacer.wait('loss', request('loss', 20));
    await pacer.wait('norm', request('norm', 30));
    await loss;
    // The earlier read asks only once the later one is answered, not after its own 170 ms sleep.
    expect(asked.loss).toBeGreaterThanOrEqual(answered.norm);
    expect(answered.loss).toBeLessThan(100);
  });

  it('only measures when told not to sleep (browsers), and passes results and failures through', async () => {
    const pacer = new WaitPacer(false);
    await delayBeforeRequest(pacer, 'step');
    expect(await delayBeforeRequest(pacer, 'step')).toBeLessThan(10);
    await expect(pacer.wait('x', async () => 7)).resolves.toBe(7);
    await expect(pacer.wait('x', () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
    const sleeping = new WaitPacer(true);
    await expect(sleeping.wait('y', () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
    await expect(sleeping.wait('y', async () => 8)).resolves.toBe(8);
  });

  it('knows it runs on Node here', () => {
    expect(runningOnNode()).toBe(true);
  });
});
