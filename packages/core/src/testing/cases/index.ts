import type { ConformanceCase } from '../case.js';
import { attentionCases } from './attention.js';
import { elementwiseCases } from './elementwise.js';
import { layoutCases } from './layout.js';
import { linearCases } from './linear.js';
import { lossCases } from './loss.js';
import { memoryCases } from './memory.js';
import { normalizationCases } from './normalization.js';
import { optimizerCases } from './optimizer.js';
import { pruningCases } from './pruning.js';
import { randomCases } from './random.js';
import { reductionCases } from './reductions.js';

/**
 * Every conformance case: each kernel of the contract on random inputs of
 * odd sizes, empty and one-element tensors, NaN/Inf propagation, large
 * (≥ 10⁶ elements) inputs where size matters, rejected calls, and the memory
 * contract. Inputs come from a generator seeded by each case's name.
 */
export function conformanceCases(): ConformanceCase[] {
  return [
    ...memoryCases(),
    ...linearCases(),
    ...elementwiseCases(),
    ...normalizationCases(),
    ...attentionCases(),
    ...lossCases(),
    ...reductionCases(),
    ...optimizerCases(),
    ...pruningCases(),
    ...randomCases(),
    ...layoutCases(),
  ];
}
