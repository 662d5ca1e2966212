import { checkMergeInputs, factorMatrix, mergeEachModule, type Matrix, type MergerPlugin } from '@lorafuse/core';
import { defineMerger } from './define.js';

/**
 * `lorahub`: LoraHub's element-wise composition, `A = Σ_i w_i·(s_i/s_1)·A_i`
 * and `B = Σ_i w_i·B_i` with the first adapter's scaling `s_1`, so that
 * `ΔW = s_1·(Σ w_i B_i)(Σ w_i (s_i/s_1) A_i)` (with equal scalings, exactly
 * the weighted sum of every LoRA tensor that LoraHub takes). Needs equal
 * ranks. The weights usually come from `searchMergeWeights` (LoraHub's
 * few-shot search); `lorafuse merge --method lorahub --model … --data …`
 * runs it.
 */
export const lorahubMerger: MergerPlugin = defineMerger(
  'lorahub',
  'LoraHub composition: A and B each a weighted sum, rank r (weights from a few-shot search)',
  async (adapters, options, context) => {
    const { weights, modules } = checkMergeInputs(adapters, options, { equalRanks: true });
    return mergeEachModule(adapters, modules, context, ({ name, members }) => {
      const s1 = members[0].scaling;
      const sum = ([first, ...rest]: Matrix[]) => {
        for (const m of rest)
          m.data.forEach((v, j) => {
            first.data[j] += v;
          });
        return first;
      };
      return {
        name,
        a: sum(members.map((m, i) => factorMatrix(m.a, (weights[i] * m.scaling) / s1))),
        b: sum(members.map((m, i) => factorMatrix(m.b, weights[i]))),
        scaling: s1,
      };
    });
  },
);
