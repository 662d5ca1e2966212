import { LoraFuseError } from '@lorafuse/core';

/** Throws `INVALID_OPTION` unless `value` is an integer in `[min, max]`; returns it. */
export function integerOption(plugin: string, option: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      `${plugin}: ${option} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${value}.`,
      {
        details: { plugin, option, value },
      },
    );
  }
  return value;
}
