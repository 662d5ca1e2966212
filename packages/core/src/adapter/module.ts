import { LoraFuseError } from '../errors/index.js';
import { isFloatDType, type DType, type Tensor } from '../tensor/index.js';
import { moduleHyperparameters } from './targeting.js';
import type { AdapterConfig, LoraModule } from './types.js';

/** The dtype and shape of a factor, known before its data is read. */
export interface FactorInfo {
  readonly dtype: DType | undefined;
  readonly shape: readonly number[];
}

/**
 * Checks that A `[rank, in]` and B `[out, rank]` are 2-D float tensors whose
 * rank is the one the config gives the module. Throws `UNSUPPORTED_DTYPE`,
 * `SHAPE_MISMATCH` or `ADAPTER_RANK_MISMATCH`; `where` names the file.
 */
export function checkFactors(module: string, a: FactorInfo, b: FactorInfo, rank: number, where: string): void {
  for (const [factor, info] of [
    ['A', a],
    ['B', b],
  ] as const) {
    if (info.dtype === undefined || !isFloatDType(info.dtype)) {
      throw new LoraFuseError(
        'UNSUPPORTED_DTYPE',
        `${where}: lora_${factor} of ${module} is ${info.dtype ?? 'of a dtype LoRAFuse cannot load'}; LoRA factors must be f32, f16 or bf16.`,
        {
          details: { module, factor, dtype: info.dtype },
        },
      );
    }
    if (info.shape.length !== 2) {
      throw new LoraFuseError(
        'SHAPE_MISMATCH',
        `${where}: lora_${factor} of ${module} has shape [${info.shape.join(', ')}]; LoRA factors are matrices (A [r, in], B [out, r]).`,
        {
          details: { module, factor, shape: [...info.shape] },
        },
      );
    }
  }
  const [rankA] = a.shape;
  const rankB = b.shape[1];
  if (rankA !== rankB || rankA !== rank) {
    const problem =
      rankA !== rankB
        ? `lora_A has rank ${rankA} (shape [${a.shape.join(', ')}]) but lora_B has rank ${rankB} (shape [${b.shape.join(', ')}])`
        : `the factors have rank ${rankA} but the config gives this module rank ${rank} (r or rank_pattern)`;
    throw new LoraFuseError('ADAPTER_RANK_MISMATCH', `${where}: ${module}: ${problem}.`, { details: { module, rankA, rankB, rank } });
  }
}

/**
 * A LoRA module for base-model layer `name` with factors `a` `[rank, in]`
 * and `b` `[out, rank]`; rank, alpha and scaling follow `config` as PEFT
 * applies it (including `rank_pattern`, `alpha_pattern` and rsLoRA).
 */
export function createLoraModule(config: AdapterConfig, name: string, a: Tensor, b: Tensor, where = name): LoraModule {
  const { rank, alpha, scaling } = moduleHyperparameters(config, name);
  checkFactors(name, a, b, rank, where);
  return Object.freeze({ name, a, b, rank, alpha, scaling });
}

/** Orders module names with digit runs compared as numbers (`layers.2` before `layers.10`). */
export function compareModuleNames(x: string, y: string): number {
  const xs = x.split(/(\d+)/);
  const ys = y.split(/(\d+)/);
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (xs[i] === ys[i]) continue;
    // Odd positions of the split hold the digit runs.
    if (i % 2 === 1) return Number(xs[i]) - Number(ys[i]) || xs[i].length - ys[i].length;
    return xs[i] < ys[i] ? -1 : 1;
  }
  return xs.length - ys.length;
}
