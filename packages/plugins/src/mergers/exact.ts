import { catMerge, checkMergeInputs, factorMatrix, mergeEachModule, type MergerPlugin } from '@lorafuse/core';
import { defineMerger } from './define.js';

/** `cat`: core's {@link catMerge} — the exact `Σ w·s·B·A`, PEFT's `cat` combination type. */
export const catMerger: MergerPlugin = defineMerger('cat', 'exact Σ w·s·B·A by concatenating the factors along the rank axis (PEFT cat)', catMerge);

/**
 * `factored`: `(Σ_i B_i)·(Σ_i w_i·(s_i/s_1)·A_i)` with the first adapter's
 * scaling `s_1`, the form of one public re-implementation of the adaptive
 * merge. Its expansion holds each adapter's own term `w_i·s_i·B_i·A_i` plus
 * the cross terms `w_j·s_j·B_i·A_j` (i ≠ j); the rank stays `r`. Needs equal
 * ranks.
 */
export const factoredMerger: MergerPlugin = defineMerger(
  'factored',
  '(Σ B_i)(Σ w_i·A_i): summed factors with cross terms, rank r',
  async (adapters, options, context) => {
    const { weights, modules } = checkMergeInputs(adapters, options, { equalRanks: true });
    return mergeEachModule(adapters, modules, context, ({ name, members }) => {
      const s1 = members[0].scaling;
      const a = factorMatrix(members[0].a, weights[0]);
      const b = factorMatrix(members[0].b);
      members.slice(1).forEach((m, k) => {
        const ai = factorMatrix(m.a, (weights[k + 1] * m.scaling) / s1);
        const bi = factorMatrix(m.b);
        ai.data.forEach((v, j) => {
          a.data[j] += v;
        });
        bi.data.forEach((v, j) => {
          b.data[j] += v;
        });
      });
      return { name, a, b, scaling: s1 };
    });
  },
);
