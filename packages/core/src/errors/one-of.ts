import { LoraFuseError } from './error.js';

/** `value` when it is one of `allowed`, else `INVALID_OPTION` naming `option` and the allowed values. */
export function oneOf<T extends string>(option: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new LoraFuseError('INVALID_OPTION', `${option} must be ${allowed.map((v) => `"${v}"`).join(' or ')}, got ${JSON.stringify(value)}.`, {
      details: { option, value, allowed },
    });
  }
  return value;
}
