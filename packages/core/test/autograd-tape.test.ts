// The Tape's bookkeeping: what it records, which gradients it computes and
// returns, and that it frees every intermediate.
import { describe, expect, it } from 'vitest';
import { ReferenceBackend, Tape, Tensor, ops, type Kernels } from '@lorafuse/core';
import { codeOf } from './error-code.js';

/** A reference backend whose kernel calls are counted by name. */
function countingBackend() {
  const backend = new ReferenceBackend();
  const calls = new Map<string, number>();
  /** Live tensors at each kernel call. */
  const live: number[] = [];
  const kernels = new Proxy(backend.kernels, {
    get(target, name: string) {
      const fn = target[name as keyof Kernels] as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        live.push(backend.memory().tensors);
        return fn(...args);
      };
    },
  });
  Object.defineProperty(backend, 'kernels', { value: kernels });
  return { backend, calls, live };
}

const f32 = (shape: number[], values: number[]) => Tensor.f32(shape, values);

describe('Tape', () => {
  it('computes no gradient for frozen tensors: no buffer, no kernel', () => {
    const { backend, calls } = countingBackend();
    const x = backend.upload(f32([2, 3], [1, 2, 3, 4, 5, 6]));
    const w = backend.upload(
      f32(
        [4, 3],
        Array.from({ length: 12 }, (_, i) => i / 10),
      ),
    );
    const tape = new Tape(backend);
    tape.watch(x);
    const frozenOnly = ops.matmul(tape, w, w, { transB: true });
    expect(tape.requiresGrad(frozenOnly)).toBe(false);
    const loss = ops.sum(tape, ops.matmul(tape, x, w, { transB: true }));
    calls.clear();
    const grads = tape.backward(loss);
    expect([...grads.keys()]).toEqual([x]);
    // dx only: the weight's gradient (a second matmul) is never computed.
    expect(calls.get('matmul')).toBe(1);
    // dx[i, :] = Σ_o w[o, :] for every row.
    const dx = Array.from(backend.readSync(grads.get(x)!).data as Float32Array);
    [1.8, 2.2, 2.6, 1.8, 2.2, 2.6].forEach((v, i) => {
      expect(dx[i]).toBeCloseTo(v, 6);
    });
    backend.free(grads.get(x)!);
    expect(backend.memory().tensors).toBe(2);
  });

  it('frees saved activations during backward, as soon as their last reader has run', () => {
    const { backend, live } = countingBackend();
    const x = backend.upload(f32([4], [0.5, -1, 2, 0]));
    const tape = new Tape(backend);
    tape.watch(x);
    let y = x;
    for (let i = 0; i < 20; i++) y = ops.silu(tape, y);
    const loss = ops.sum(tape, y);
    live.length = 0;
    const grads = tape.backward(loss);
    // 20 activations are saved after the forward; by the last rule only x, its
    // gradient in the making, the upstream gradient and the last activation remain.
    expect(Math.max(...live)).toBeLessThanOrEqual(24);
    expect(live[live.length - 1]).toBeLessThanOrEqual(5);
    backend.free(grads.get(x)!);
    expect(backend.memory().tensors).toBe(1);
  });

  it('frees every intermediate on dispose when no backward runs', () => {
    const backend = new ReferenceBackend();
    const x = backend.upload(f32([2, 2], [1, 2, 3, 4]));
    const before = backend.memory();
    const tape = new Tape(backend);
    tape.watch(x);
    const y = ops.silu(tape, ops.matmul(tape, x, x));
    const kept = tape.keep(ops.scale(tape, y, 2));
    tape.dispose();
    expect(backend.memory().tensors).toBe(before.tensors + 1);
    backend.free(kept);
    expect(backend.memory()).toEqual(before);
  });

  it('keeps a kept result alive through backward', () => {
    const backend = new ReferenceBackend();
    const x = backend.upload(f32([3], [1, 2, 3]));
    const tape = new Tape(backend);
    tape.watch(x);
    const y = tape.keep(ops.mul(tape, x, x));
    const grads = tape.backward(ops.sum(tape, y));
    expect(Array.from(backend.readSync(y).data as Float32Array)).toEqual([1, 4, 9]);
    expect(Array.from(backend.readSync(grads.get(x)!).data as Float32Array)).toEqual([2, 4, 6]);
    backend.free(y);
    backend.free(grads.get(x)!);
    expect(backend.memory().tensors).toBe(1);
  });

  it('scales the gradients by the seed (a cross-entropy folds it into its kernel)', async () => {
    const backend = new ReferenceBackend();
    const logits = backend.upload(f32([2, 3], [0.1, -0.4, 2, 1, 0, -1]));
    const targets = backend.upload(new Tensor('i32', [2], Int32Array.of(2, 0)));
    const grad = (seed?: number) => {
      const tape = new Tape(backend);
      tape.watch(logits);
      const g = tape.backward(ops.crossEntropy(tape, logits, targets), { seed }).get(logits)!;
      const values = Array.from(backend.readSync(g).data as Float32Array);
      backend.free(g);
      return values;
    };
    const one = grad();
    grad(0.25).forEach((v, i) => {
      expect(v).toBeCloseTo(0.25 * one[i], 7);
    });
    expect(backend.memory().tensors).toBe(2);
  });

  it('is used once, and needs a scalar loss', () => {
    const backend = new ReferenceBackend();
    const x = backend.upload(f32([2], [1, 2]));
    const tape = new Tape(backend);
    tape.watch(x);
    const y = ops.scale(tape, x, 2);
    expect(codeOf(() => tape.backward(y))).toBe('SHAPE_MISMATCH');
    for (const g of tape.backward(ops.sum(tape, y)).values()) backend.free(g);
    expect(codeOf(() => ops.scale(tape, x, 2))).toBe('INVALID_OPTION');
    expect(codeOf(() => tape.backward(x))).toBe('INVALID_OPTION');
  });

  it('only trains f32 tensors', () => {
    const backend = new ReferenceBackend();
    const half = backend.upload(new Tensor('bf16', [1], Uint16Array.of(0x3f80)));
    expect(codeOf(() => new Tape(backend).watch(half))).toBe('DTYPE_MISMATCH');
  });
});

describe('Tape.scope and Tape.checkpoint', () => {
  /** A small block: y = x + silu(x·Wᵀ)·Vᵀ, reading a tape-owned constant c as well (y += c). */
  const block =
    (w: ReturnType<ReferenceBackend['upload']>, v: ReturnType<ReferenceBackend['upload']>, c: ReturnType<ReferenceBackend['upload']>) =>
    (tape: Tape, x: ReturnType<ReferenceBackend['upload']>) =>
      ops.add(tape, ops.add(tape, x, ops.matmul(tape, ops.silu(tape, ops.matmul(tape, x, w, { transB: true })), v, { transB: true })), c);

  function setup() {
    const backend = new ReferenceBackend();
    const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k) / 2);
    const w = backend.upload(f32([5, 3], values(15, 1.3)));
    const v = backend.upload(f32([3, 5], values(15, 0.7)));
    const x0 = backend.upload(f32([2, 3], values(6, 2.1)));
    return { backend, w, v, x0 };
  }

  it('scope frees what a block made that no rule reads, keeping its output and the saved tensors', () => {
    const { backend, w, v, x0 } = setup();
    const tape = new Tape(backend);
    tape.watch(w);
    const c = tape.constant(f32([3], [1, 2, 3]));
    const before = backend.memory().tensors;
    const y = tape.scope(() => block(w, v, c)(tape, x0));
    // Made and kept: x·Wᵀ (silu's rule reads it), silu(x·Wᵀ) (the product with V's), and y; the inner sum and the
    // product with V are dead. (x and W are not the tape's.)
    expect(backend.memory().tensors - before).toBe(2 + 1);
    const plain = new Tape(backend);
    plain.watch(w);
    const yPlain = block(w, v, plain.constant(f32([3], [1, 2, 3])))(plain, x0);
    const gScoped = tape.backward(ops.sum(tape, y)).get(w)!;
    const gPlain = plain.backward(ops.sum(plain, yPlain)).get(w)!;
    expect(backend.readSync(gScoped).data).toEqual(backend.readSync(gPlain).data);
  });

  it("checkpoint keeps only the block's output and inputs, and its gradients equal the plain block's bit for bit", () => {
    const { backend, w, v, x0 } = setup();
    const gradients = (checkpointed: boolean) => {
      const tape = new Tape(backend);
      tape.watch(w, v, x0);
      const c = tape.constant(f32([3], [1, 2, 3]));
      const before = backend.memory().tensors;
      // Two blocks in a row: the second's input is the first's output, a tracked tensor of the tape.
      const run = (x: ReturnType<ReferenceBackend['upload']>) =>
        checkpointed ? tape.checkpoint(x, (t, input) => block(w, v, c)(t, input)) : block(w, v, c)(tape, x);
      const y = run(run(x0));
      const held = backend.memory().tensors - before;
      const grads = tape.backward(ops.sum(tape, y), { seed: 0.5 });
      const out = [w, v, x0].map((p) => backend.readSync(grads.get(p)!).data);
      for (const g of grads.values()) backend.free(g);
      return { out, held };
    };
    const plain = gradients(false);
    const checkpointed = gradients(true);
    expect(checkpointed.out).toEqual(plain.out);
    // Only the two outputs live between forward and backward.
    expect(checkpointed.held).toBe(2);
    expect(plain.held).toBeGreaterThan(6);
    expect(backend.memory().tensors).toBe(3);
  });
});
