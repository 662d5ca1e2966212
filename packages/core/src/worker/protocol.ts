import { LoraFuseError, isLoraFuseError } from '../errors/index.js';
import type { ErrorCode } from '../errors/codes.js';

/**
 * The methods a worker serves, by name: what each takes, what it reports
 * while it runs, and what it resolves to. Everything crosses `postMessage`,
 * so it must be structured-cloneable (no functions, no class instances
 * beyond the built-in ones: typed arrays, `Blob`, `File`, `Map`...).
 */
export type WorkerApi = Record<string, { readonly input: unknown; readonly progress: unknown; readonly output: unknown }>;

/**
 * The part of `Worker`, `MessagePort` and a worker's own global scope the
 * helpers use: one end of a message channel.
 */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** `MessagePort`s deliver nothing until started. */
  start?(): void;
}

const TRANSFER = Symbol.for('lorafuse.worker.transfer');

/** A value paired with the buffers to move (not copy) with it; see {@link withTransfer}. */
export interface Transferring<T> {
  readonly [TRANSFER]: true;
  readonly value: T;
  readonly transfer: readonly Transferable[];
}

/**
 * Marks `value` to be posted with `transfer` moved rather than copied (an
 * adapter's `ArrayBuffer`s, say): the sender loses them, the receiver gets
 * them without a copy. Return it from a handler, pass it to
 * `WorkerCallContext.progress`, or give it as a call's input.
 */
export function withTransfer<T>(value: T, transfer: readonly Transferable[]): Transferring<T> {
  return { [TRANSFER]: true, value, transfer };
}

/** Splits a possibly {@link withTransfer}-marked value into what to post and what to move. */
export function unwrapTransfer<T>(value: T | Transferring<T>): [T, Transferable[]] {
  if (typeof value === 'object' && value !== null && (value as Transferring<T>)[TRANSFER] === true) {
    const marked = value as Transferring<T>;
    return [marked.value, [...marked.transfer]];
  }
  return [value as T, []];
}

/** Every distinct `ArrayBuffer` under the typed arrays of `value` (for {@link withTransfer}); shared memory is left out, it cannot move. */
export function buffersOf(value: unknown, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (value instanceof ArrayBuffer) found.add(value);
  else if (Array.isArray(value)) for (const item of value) buffersOf(item, found);
  else if (value instanceof Map) for (const item of value.values()) buffersOf(item, found);
  else if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    for (const item of Object.values(value)) buffersOf(item, found);
  return [...found];
}

/** Brand on every protocol message, so other traffic on the same channel is ignored. */
export const PROTOCOL = 'lorafuse-worker/1';

/** A {@link LoraFuseError} as it crosses the channel. */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** Page → worker. */
export type RequestMessage =
  | { readonly protocol: typeof PROTOCOL; readonly type: 'call'; readonly id: number; readonly method: string; readonly input: unknown }
  | { readonly protocol: typeof PROTOCOL; readonly type: 'cancel'; readonly id: number };

/** Worker → page. */
export type ResponseMessage =
  | { readonly protocol: typeof PROTOCOL; readonly type: 'progress'; readonly id: number; readonly value: unknown }
  | { readonly protocol: typeof PROTOCOL; readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly protocol: typeof PROTOCOL; readonly type: 'error'; readonly id: number; readonly error: SerializedError };

/** True for messages of this protocol. */
export function isProtocolMessage(data: unknown): data is { protocol: typeof PROTOCOL; type: string; id: number } {
  return typeof data === 'object' && data !== null && (data as { protocol?: unknown }).protocol === PROTOCOL && Number.isInteger((data as { id?: unknown }).id);
}

/** Any thrown value as a {@link SerializedError}; errors that are not LoRAFuse's become `WORKER_FAILED` with their message. */
export function serializeError(error: unknown): SerializedError {
  if (isLoraFuseError(error)) return { code: error.code, message: error.message, details: cloneableDetails(error.details) };
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: 'WORKER_FAILED', message: `The worker threw ${message}`, details: {} };
}

/** The error a {@link SerializedError} stood for, with its code, message and details. */
export function deserializeError(error: SerializedError): LoraFuseError {
  return new LoraFuseError(error.code, error.message, { details: error.details });
}

// Details are plain data by convention; a stray non-cloneable value must not turn a typed error into a DataCloneError.
function cloneableDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return structuredClone({ ...details });
  } catch {
    return {};
  }
}
