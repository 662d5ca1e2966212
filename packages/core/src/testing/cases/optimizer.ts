import type { AdamwOptions } from '../../backend/kernels.js';
import { shapeSize, type Shape } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import { f32, normalF32, uniformF32 } from './host.js';

const TORCH_DEFAULTS: AdamwOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };

/** Cases of the AdamW step. */
export function optimizerCases(): ConformanceCase[] {
  const c = (name: string, shape: Shape, options: AdamwOptions, steps = 1, fresh = true, large = false) =>
    kernelCase({
      kernel: 'adamwStep',
      name,
      large,
      inputs: (rng) => [
        normalF32(rng, shape),
        ...Array.from({ length: steps }, () => normalF32(rng, shape, 0.1)),
        fresh ? f32(shape, new Float32Array(shapeSize(shape))) : normalF32(rng, shape, 0.01),
        fresh ? f32(shape, new Float32Array(shapeSize(shape))) : uniformF32(rng, shape, 0, 1e-3),
      ],
      call: (k, x) => {
        const [param, ...rest] = x;
        const [m, v] = rest.slice(-2);
        rest.slice(0, -2).forEach((grad, i) => {
          k.adamwStep(param, grad, m, v, { ...options, step: options.step + i });
        });
        return [param, m, v];
      },
    });
  // A guarded step: [param, grad, m, v, norm, loss]; the guard's values sit on the device.
  const guarded = (name: string, norm: number, loss: number, maxNorm?: number, gradScale?: number) =>
    kernelCase({
      kernel: 'adamwStep',
      name: `guard: ${name}`,
      inputs: (rng) => [
        normalF32(rng, [9, 7]),
        normalF32(rng, [9, 7], 0.1),
        normalF32(rng, [9, 7], 0.01),
        uniformF32(rng, [9, 7], 0, 1e-3),
        f32([], Float32Array.of(norm)),
        f32([], Float32Array.of(loss)),
      ],
      call: (k, [param, grad, m, v, n, l]) => {
        k.adamwStep(param, grad, m, v, {
          ...TORCH_DEFAULTS,
          step: 4,
          ...(gradScale === undefined ? {} : { gradScale }),
          guard: { norm: n, loss: l, ...(maxNorm === undefined ? {} : { maxNorm }) },
        });
        return [param, m, v];
      },
    });
  return [
    guarded('finite, clipped to maxNorm 1 from norm 3.7', 3.7, 2.5, 1),
    guarded('finite, norm under maxNorm, gradScale 0.5', 0.3, 2.5, 1, 0.5),
    guarded('finite, no maxNorm', 12, 0.1),
    guarded('NaN norm skips the step', Number.NaN, 2.5, 1),
    guarded('infinite norm skips the step', Number.POSITIVE_INFINITY, 2.5),
    guarded('infinite loss skips the step', 0.5, Number.NEGATIVE_INFINITY, 1),
    guarded('NaN loss skips the step', 0.5, Number.NaN),
    rejectionCase({
      kernel: 'adamwStep',
      name: 'guard norm of two elements',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [...[0, 1, 2, 3].map(() => uniformF32(rng, [3])), uniformF32(rng, [2]), uniformF32(rng, [])],
      call: (k, [p, g, m, v, n, l]) => k.adamwStep(p, g, m, v, { ...TORCH_DEFAULTS, guard: { norm: n, loss: l } }),
    }),
    rejectionCase({
      kernel: 'adamwStep',
      name: 'guard maxNorm 0',
      code: 'INVALID_OPTION',
      inputs: (rng) => [...[0, 1, 2, 3].map(() => uniformF32(rng, [3])), uniformF32(rng, []), uniformF32(rng, [])],
      call: (k, [p, g, m, v, n, l]) => k.adamwStep(p, g, m, v, { ...TORCH_DEFAULTS, guard: { norm: n, loss: l, maxNorm: 0 } }),
    }),
    c('3 steps from zero state, torch defaults', [37, 13], TORCH_DEFAULTS, 3),
    c('step 7 from running state, no decay, gradScale 0.5', [101], { ...TORCH_DEFAULTS, weightDecay: 0, step: 7, gradScale: 0.5 }, 1, false),
    c('strong decay, lr 0.1', [5, 5], { ...TORCH_DEFAULTS, lr: 0.1, weightDecay: 0.5 }, 2),
    c('one element', [1], TORCH_DEFAULTS),
    c('empty', [0], TORCH_DEFAULTS),
    c('large [1048583]', [1_048_583], TORCH_DEFAULTS, 1, false, true),
    rejectionCase({
      kernel: 'adamwStep',
      name: 'step 0',
      code: 'INVALID_OPTION',
      inputs: (rng) => [0, 1, 2, 3].map(() => uniformF32(rng, [3])),
      call: (k, [p, g, m, v]) => k.adamwStep(p, g, m, v, { ...TORCH_DEFAULTS, step: 0 }),
    }),
    rejectionCase({
      kernel: 'adamwStep',
      name: 'mismatched moment shape',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3]), uniformF32(rng, [3]), uniformF32(rng, [4]), uniformF32(rng, [3])],
      call: (k, [p, g, m, v]) => k.adamwStep(p, g, m, v, TORCH_DEFAULTS),
    }),
  ];
}
