// The worker protocol over a real MessageChannel (the same structured clone
// and transfer semantics as a Worker): results, progress, typed errors,
// cancellation reaching the handler's signal, and buffers moved, not copied.
import { afterEach, describe, expect, it } from 'vitest';
import { LoraFuseError, WorkerClient, buffersOf, serveWorker, throwIfAborted, withTransfer, type MessageEndpoint } from '@lorafuse/core';
import { asyncCodeOf } from './error-code.js';

type Api = {
  sum: { input: Float32Array; progress: number; output: number };
  fill: { input: { n: number; value: number }; progress: never; output: Float32Array };
  spin: { input: null; progress: string; output: never };
  fail: { input: string; progress: never; output: never };
};

const cleanups: (() => void)[] = [];
afterEach(() =>
  cleanups.splice(0).forEach((f) => {
    f();
  }),
);

function connect(): { client: WorkerClient<Api>; started: string[] } {
  const channel = new MessageChannel();
  const started: string[] = [];
  const stop = serveWorker<Api>(channel.port2 as unknown as MessageEndpoint, {
    async sum(values, { progress }) {
      let total = 0;
      for (const [i, v] of values.entries()) {
        total += v;
        progress(i + 1);
      }
      return total;
    },
    async fill({ n, value }) {
      const out = new Float32Array(n).fill(value);
      return withTransfer(out, [out.buffer]);
    },
    async spin(_, { signal, progress }) {
      started.push('spin');
      progress('started');
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throwIfAborted(signal);
      }
    },
    async fail(message) {
      if (message === 'plain') throw new RangeError('not typed');
      throw new LoraFuseError('DATA_INVALID', message, { details: { line: 3 } });
    },
  });
  const client = new WorkerClient<Api>(channel.port1 as unknown as MessageEndpoint);
  cleanups.push(() => {
    stop();
    client.dispose();
    channel.port1.close();
    channel.port2.close();
  });
  return { client, started };
}

describe('worker protocol', () => {
  it('returns results and streams progress in order', async () => {
    const { client } = connect();
    const seen: number[] = [];
    expect(await client.call('sum', Float32Array.from([1, 2, 3.5]), { onProgress: (n) => seen.push(n) })).toBe(6.5);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('moves marked buffers instead of copying them, both ways', async () => {
    const { client } = connect();
    const input = Float32Array.from([4, 5]);
    const sum = client.call('sum', withTransfer(input, buffersOf(input)));
    expect(input.byteLength).toBe(0);
    expect(await sum).toBe(9);
    const out = await client.call('fill', { n: 4, value: 0.5 });
    expect([...out]).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('keeps the code, message and details of typed errors, and types the others', async () => {
    const { client } = connect();
    const error = await client.call('fail', 'line 3 is not JSON').catch((e: unknown) => e as LoraFuseError);
    expect([error.code, error.message, error.details]).toEqual(['DATA_INVALID', 'line 3 is not JSON', { line: 3 }]);
    const plain = await client.call('fail', 'plain').catch((e: unknown) => e as LoraFuseError);
    expect([plain.code, plain.message]).toEqual(['WORKER_FAILED', 'The worker threw RangeError: not typed']);
    expect(await asyncCodeOf(() => client.call('nope' as 'sum', new Float32Array(0)))).toBe('WORKER_PROTOCOL');
  });

  it('cancels across the channel: the handler sees the abort and the call rejects ABORTED', async () => {
    const { client, started } = connect();
    const controller = new AbortController();
    const call = client.call('spin', null, { signal: controller.signal, onProgress: () => controller.abort() });
    expect(await asyncCodeOf(() => call)).toBe('ABORTED');
    expect(started).toEqual(['spin']);
    expect(await asyncCodeOf(() => client.call('spin', null, { signal: AbortSignal.abort() }))).toBe('ABORTED');
  });

  it('rejects pending calls with WORKER_FAILED when disposed', async () => {
    const { client } = connect();
    const call = client.call('spin', null);
    client.dispose();
    expect(await asyncCodeOf(() => call)).toBe('WORKER_FAILED');
    expect(await asyncCodeOf(() => client.call('sum', new Float32Array(1)))).toBe('WORKER_FAILED');
  });

  it('collects the distinct buffers of nested typed arrays', () => {
    const shared = new Float32Array(4);
    const list = buffersOf({ a: shared, b: [shared.subarray(1), new Uint8Array(2)], c: new Map([['x', new Int32Array(1)]]), d: 'text' });
    expect(list.length).toBe(3);
    expect(list[0]).toBe(shared.buffer);
  });
});
