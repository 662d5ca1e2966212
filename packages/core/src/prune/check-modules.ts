import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError } from '../errors/index.js';
import type { PrunableModule } from './types.js';

/** Throws `INVALID_OPTION` unless `ratio` is a number in `[0, 1]`; `what` names it in the message. */
export function checkRatio(what: string, ratio: number): void {
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new LoraFuseError('INVALID_OPTION', `${what} must be in [0, 1] (the share of entries pruned), got ${ratio}.`, { details: { ratio } });
  }
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function requireTensor(module: string, what: string, t: DeviceTensor | undefined, shape: readonly number[], missing: string): void {
  if (!t) throw new LoraFuseError('PRUNE_INPUT_MISSING', `${module}: ${what} is missing; ${missing}.`, { details: { module, input: what } });
  if (t.dtype !== 'f32')
    throw new LoraFuseError('DTYPE_MISMATCH', `${module}: ${what} is ${t.dtype}; the pruner works on f32 tensors.`, {
      details: { module, input: what, dtype: t.dtype },
    });
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new LoraFuseError('SHAPE_MISMATCH', `${module}: ${what} has shape ${fmt(t.shape)}, expected ${fmt(shape)}.`, {
      details: { module, input: what, shape: [...t.shape], expected: [...shape] },
    });
  }
}

/**
 * Checks the modules of one prune call before anything changes: unique
 * names, A `[r, in]` and B `[out, r]` f32, the shapes of the optional
 * inputs that are given, and the initial values (reset mode) and Adam
 * moments (`resetMoments`) the options need.
 */
export function checkModules(modules: readonly PrunableModule[], needs: { readonly reset: boolean; readonly moments: boolean }): void {
  if (!Array.isArray(modules)) throw new LoraFuseError('INVALID_OPTION', 'prune() takes an array of modules { name, a, b, ... }.');
  const names = new Set<string>();
  for (const m of modules) {
    if (typeof m?.name !== 'string') throw new LoraFuseError('INVALID_OPTION', 'Every module needs a string name.');
    if (names.has(m.name))
      throw new LoraFuseError('INVALID_OPTION', `Module ${m.name} is given twice; names key the masks and metric state, so they must be unique.`, {
        details: { module: m.name },
      });
    names.add(m.name);
    if (m.a?.shape.length !== 2 || m.b?.shape.length !== 2) {
      throw new LoraFuseError('SHAPE_MISMATCH', `${m.name}: A and B must be matrices (A [r, in], B [out, r]).`, { details: { module: m.name } });
    }
    const [rank, inFeatures] = m.a.shape;
    const [outFeatures] = m.b.shape;
    requireTensor(m.name, 'A', m.a, [rank, inFeatures], 'pass the factor');
    requireTensor(m.name, 'B', m.b, [outFeatures, rank], 'pass the factor');
    const given: [string, DeviceTensor | undefined, readonly number[]][] = [
      ['inputNorms', m.inputNorms, [inFeatures]],
      ['hiddenNorms', m.hiddenNorms, [rank]],
      ['gradA', m.gradA, m.a.shape],
      ['gradB', m.gradB, m.b.shape],
    ];
    for (const [what, t, shape] of given) if (t) requireTensor(m.name, what, t, shape, '');
    if (needs.reset) {
      const why = "mode 'reset' sets pruned entries to their initial values; pass initA and initB";
      requireTensor(m.name, 'initA', m.initA, m.a.shape, why);
      requireTensor(m.name, 'initB', m.initB, m.b.shape, why);
    }
    if (needs.moments) {
      const why = 'resetMoments zeroes the Adam moments of pruned entries; pass momentsA and momentsB';
      for (const [factor, moments, shape] of [
        ['A', m.momentsA, m.a.shape],
        ['B', m.momentsB, m.b.shape],
      ] as const) {
        requireTensor(m.name, `moments${factor}.m`, moments?.m, shape, why);
        requireTensor(m.name, `moments${factor}.v`, moments?.v, shape, why);
      }
    }
  }
}
