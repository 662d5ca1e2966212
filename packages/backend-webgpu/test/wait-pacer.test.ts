import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WaitPacer, runningOnNode } from '../src/gpu/wait-pacer.js';

// A virtual clock: performance.now() and the timers move only when the test
// runs them, so every delay below is exact, however busy the machine is.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `pending` once the virtual clock has run every timer it and what it started set. */
async function settled<T>(pending: Promise<T>): Promise<T> {
  // Handled now: it may reject while the clock runs.
  pending.catch(() => undefined);
  await vi.runAllTimersAsync();
  return pending;
}

/**
 * Models a device: work submitted when the wait starts is done `takes` ms
 * later, and a request answers when the work is done (at once if it already is).
 * Returns how long the pacer let pass before it made the request.
 */
function delayBeforeRequest(pacer: WaitPacer, signature: string, takes = 40): Promise<number> {
  const started = performance.now();
  let asked = 0;
  return settled(
    pacer
      .wait(signature, async () => {
        asked = performance.now() - started;
        if (asked < takes) await after(takes - asked);
      })
      .then(() => asked),
  );
}

describe('WaitPacer', () => {
  it('sleeps for most of the time the same work took before asking, and never for work it has not seen', async () => {
    const pacer = new WaitPacer(true);
    // First time: nothing known, so it asks at once; the work takes 40 ms.
    expect(await delayBeforeRequest(pacer, 'step')).toBe(0);
    // The same work again: a sleep of 34 ms (85 %) first.
    expect(await delayBeforeRequest(pacer, 'step')).toBeCloseTo(34, 9);
    // Other work (a 1 ms read after a long step, say) is not delayed by what the step took.
    expect(await delayBeforeRequest(pacer, 'read', 1)).toBe(0);
  });

  it('learns down when the work got faster, even though every sleep ends after it', async () => {
    const pacer = new WaitPacer(true);
    await delayBeforeRequest(pacer, 'step', 60);
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) delays.push(await delayBeforeRequest(pacer, 'step', 2));
    // Each sleep that ends after the work shrinks the next one, down to the work's 2 ms.
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeLessThanOrEqual(delays[i - 1]);
    expect(delays[0]).toBeCloseTo(51, 9);
    expect(delays.at(-1)).toBeLessThan(2);
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
    await settled(pacer.wait('norm', request('norm', 30)));
    await settled(loss);
    // The earlier read asks only once the later one is answered (at 30 ms), not after its own 170 ms sleep.
    expect(answered.norm).toBe(30);
    expect(asked.loss).toBeGreaterThanOrEqual(answered.norm);
    expect(answered.loss).toBe(asked.loss);
    expect(answered.loss).toBeLessThan(170);
  });

  it('only measures when told not to sleep (browsers), and passes results and failures through', async () => {
    const pacer = new WaitPacer(false);
    await delayBeforeRequest(pacer, 'step');
    expect(await delayBeforeRequest(pacer, 'step')).toBe(0);
    await expect(pacer.wait('x', async () => 7)).resolves.toBe(7);
    await expect(pacer.wait('x', () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
    const sleeping = new WaitPacer(true);
    await expect(settled(sleeping.wait('y', () => Promise.reject(new Error('device lost'))))).rejects.toThrow('device lost');
    await expect(settled(sleeping.wait('y', async () => 8))).resolves.toBe(8);
  });

  it('knows it runs on Node here', () => {
    expect(runningOnNode()).toBe(true);
  });
});
