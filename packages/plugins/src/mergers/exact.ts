import { checkMergeInputs, factorMatrix, hstack, mergeEachModule, vstack, type MergerPlugin } from '@lorafuse/core';
import { defineMerger } from './define.js';

/**
 * `cat`: the exact merge `ΔW = Σ_i w_i·s_i·B_i·A_i`, by concatenation along
 * the rank axis with PEFT's distribution of weights and scalings:
 * `A = [w_1·s_1·A_1; …; w_n·s_n·A_n]`, `B = [B_1 … B_n]`, rank `Σ r_i`,
 * scaling 1. This is PEFT's `cat` combination type as well (same factors,
 * same config), so one plugin serves both.
 */
export const catMerger: MergerPlugin = defineMerger(
  'cat',
  'exact Σ w·s·B·A by concatenating the factors along the rank axis (PEFT cat)',
  async (adapters, options, context) => {
    const { weights, modules } = checkMergeInputs(adapters, options);
    return mergeEachModule(adapters, modules, context, ({ name, members }) => ({
      name,
      a: vstack(members.map((m, i) => factorMatrix(m.a, weights[i] * m.scaling))),
      b: hstack(members.map((m) => factorMatrix(m.b))),
      scaling: 1,
    }));
  },
);

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
