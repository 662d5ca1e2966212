import type { ErrorCode } from './codes.js';

/**
 * The one error class LoRAFuse throws for problems the caller can act on.
 *
 * `code` is stable across releases; `message` says what went wrong and what
 * to change; `details` carries machine-readable context (file, tensor name,
 * offsets...).
 */
export class LoraFuseError extends Error {
  /** Stable code, see {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Machine-readable context for the failure. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoraFuseError';
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

// A brand rather than `instanceof`, so that errors from a second copy of the
// package (ESM next to CJS) are still recognised.
const BRAND = Symbol.for('lorafuse.error');
Object.defineProperty(LoraFuseError.prototype, BRAND, { value: true });

/**
 * True when `value` is a {@link LoraFuseError} (from any copy of the package),
 * optionally of the given code.
 */
export function isLoraFuseError(value: unknown, code?: ErrorCode): value is LoraFuseError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as LoraFuseError).code === code;
}

/** Throws `ABORTED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new LoraFuseError('ABORTED', 'The operation was aborted by its AbortSignal.', { cause: signal.reason });
  }
}
