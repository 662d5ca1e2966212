import type { Backend } from '../../backend/backend.js';
import type { Shape, Tensor } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { InputRandom } from '../input-random.js';
import { i32, normalF32, uniformF32, withValues } from './host.js';

const IGNORE = -100;

interface CrossEntropyInput {
  readonly shape: Shape;
  readonly vocab: number;
  /** Logit range: wide ranges check that the log-sum-exp is stable. */
  readonly range: number;
  /** Builds the targets from random valid ids. */
  readonly targets?: (valid: Int32Array) => ArrayLike<number>;
  readonly nan?: boolean;
}

function ceInputs(rng: InputRandom, c: CrossEntropyInput): Tensor[] {
  let logits = uniformF32(rng, [...c.shape, c.vocab], -c.range, c.range);
  if (c.nan) logits = withValues(logits, [[c.vocab + 1, NaN]]);
  const rows = c.shape.reduce((a, b) => a * b, 1);
  const valid = rng.ints(rows, 0, c.vocab);
  return [logits, i32(c.shape, c.targets ? c.targets(valid) : valid)];
}

async function lseOf(reference: Backend, logits: Tensor, targets: Tensor): Promise<Tensor> {
  const [l, t] = [reference.upload(logits), reference.upload(targets)];
  const { loss, lse } = reference.kernels.crossEntropy(l, t);
  try {
    return await reference.read(lse);
  } finally {
    for (const h of [l, t, loss, lse]) reference.free(h);
  }
}

function crossEntropyCases(name: string, c: CrossEntropyInput, large = false): ConformanceCase[] {
  return [
    kernelCase({ kernel: 'crossEntropy', name, large, inputs: (rng) => ceInputs(rng, c), call: (k, [logits, targets]) => k.crossEntropy(logits, targets) }),
    kernelCase({
      kernel: 'crossEntropyBackward',
      name,
      large,
      inputs: async (rng, reference) => {
        const [logits, targets] = ceInputs(rng, c);
        return [logits, targets, await lseOf(reference, logits, targets)];
      },
      call: (k, [logits, targets, lse]) => k.crossEntropyBackward(logits, targets, lse, 0.125),
    }),
  ];
}

const everyThird = (valid: Int32Array) => valid.map((v, i) => (i % 3 === 1 ? IGNORE : v));

function embeddingCases(): ConformanceCase[] {
  const fwd = (name: string, idsShape: Shape, vocab: number, dim: number, dtype: 'f32' | 'f16' | 'bf16', outOfRange = false) =>
    kernelCase({
      kernel: 'embedding',
      name,
      inputs: (rng) => {
        const ids = rng.ints(
          idsShape.reduce((a, b) => a * b, 1),
          0,
          vocab,
        );
        if (outOfRange) ids.set([vocab, -1], 0);
        const table = normalF32(rng, [vocab, dim]);
        return [i32(idsShape, ids), dtype === 'f32' ? table : table.castFloat(dtype)];
      },
      call: (k, [ids, table]) => k.embedding(ids, table),
    });
  const bwd = (name: string, idsShape: Shape, vocab: number, dim: number, opts: { outOfRange?: boolean; large?: boolean } = {}) =>
    kernelCase({
      kernel: 'embeddingBackward',
      name,
      large: opts.large,
      inputs: (rng) => {
        // Few distinct ids, so that most rows collide in the scatter-add.
        const ids = rng.ints(
          idsShape.reduce((a, b) => a * b, 1),
          0,
          Math.min(vocab, 7),
        );
        if (opts.outOfRange) ids.set([vocab, -1], 0);
        return [i32(idsShape, ids), normalF32(rng, [...idsShape, dim])];
      },
      call: (k, [ids, dy]) => k.embeddingBackward(ids, dy, vocab),
    });
  return [
    fwd('[3, 7] ids, 50 x 13 table', [3, 7], 50, 13, 'f32'),
    fwd('f16 table', [11], 40, 9, 'f16'),
    fwd('bf16 table', [2, 5], 33, 17, 'bf16'),
    fwd('out-of-range ids give NaN rows', [6], 20, 5, 'f32', true),
    fwd('no ids', [0], 20, 5, 'f32'),
    bwd('[4, 9] ids with repeats, vocab 37, D 9', [4, 9], 37, 9),
    bwd('out-of-range ids are dropped', [10], 12, 3, { outOfRange: true }),
    bwd('vocab 1, one id', [1], 1, 1),
    bwd('no ids', [0], 5, 4),
    bwd('large 4096 ids x 257', [4096], 301, 257, { large: true }),
  ];
}

/** Cases of cross-entropy and embedding, forward and backward. */
export function lossCases(): ConformanceCase[] {
  return [
    ...crossEntropyCases('[13, 11], some ignored', { shape: [13], vocab: 11, range: 3, targets: everyThird }),
    ...crossEntropyCases('rank 3 [2, 3, 17]', { shape: [2, 3], vocab: 17, range: 5 }),
    ...crossEntropyCases('logits up to ±120 stay stable', { shape: [6], vocab: 9, range: 120 }),
    ...crossEntropyCases('every target ignored', { shape: [4], vocab: 5, range: 2, targets: (v) => v.map(() => IGNORE) }),
    ...crossEntropyCases('out-of-range targets give NaN', {
      shape: [5],
      vocab: 6,
      range: 2,
      targets: (v) => v.map((x, i) => (i === 1 ? 6 : i === 3 ? -1 : x)),
    }),
    ...crossEntropyCases('NaN logit', { shape: [3], vocab: 4, range: 2, nan: true }),
    ...crossEntropyCases('one class, one row', { shape: [1], vocab: 1, range: 2 }),
    ...crossEntropyCases('no rows', { shape: [0], vocab: 7, range: 2 }),
    ...crossEntropyCases('vocab 4099', { shape: [16], vocab: 4099, range: 6, targets: everyThird }),
    ...crossEntropyCases('large [64, 16411]', { shape: [64], vocab: 16411, range: 6, targets: everyThird }, true),
    rejectionCase({
      kernel: 'crossEntropy',
      name: 'f32 targets',
      code: 'DTYPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), uniformF32(rng, [3])],
      call: (k, [logits, targets]) => k.crossEntropy(logits, targets),
    }),
    ...embeddingCases(),
  ];
}
