import { LoraFuseError } from '../errors/index.js';

/** Limits applied when parsing JSON from untrusted files. */
export interface JsonLimits {
  /** Largest accepted text, in bytes. Default 64 MiB. */
  maxBytes?: number;
  /** Deepest accepted nesting of arrays and objects. Default 64. */
  maxDepth?: number;
}

/** Default {@link JsonLimits}. */
export const DEFAULT_JSON_LIMITS: Required<JsonLimits> = Object.freeze({ maxBytes: 64 * 1024 * 1024, maxDepth: 64 });

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8, throwing `INVALID_UTF8` (never replacing characters). */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new LoraFuseError('INVALID_UTF8', `${what} is not valid UTF-8 text.`, { cause, details: { what } });
  }
}

/**
 * Parses JSON from untrusted bytes: valid UTF-8, within the size and depth
 * limits (checked before parsing, so a hostile file cannot exhaust the stack),
 * and syntactically valid. `what` names the input in messages.
 */
export function parseJsonBytes(bytes: Uint8Array, what: string, limits: JsonLimits = {}): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_JSON_LIMITS, ...limits };
  if (bytes.byteLength > maxBytes) {
    throw new LoraFuseError('JSON_LIMIT_EXCEEDED', `${what} is ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit.`, {
      details: { what, bytes: bytes.byteLength, maxBytes },
    });
  }
  return parseJsonText(decodeUtf8(bytes, what), what, { maxDepth });
}

/** Parses JSON text with the depth limit of {@link parseJsonBytes}. */
export function parseJsonText(text: string, what: string, limits: Pick<JsonLimits, 'maxDepth'> = {}): unknown {
  const maxDepth = limits.maxDepth ?? DEFAULT_JSON_LIMITS.maxDepth;
  const depth = jsonDepth(text);
  if (depth > maxDepth) {
    throw new LoraFuseError('JSON_LIMIT_EXCEEDED', `${what} nests ${depth} levels deep, over the limit of ${maxDepth}.`, {
      details: { what, depth, maxDepth },
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new LoraFuseError('INVALID_JSON', `${what} is not valid JSON: ${(cause as Error).message}`, { cause, details: { what } });
  }
}

/** Deepest bracket nesting outside string literals (an upper bound for malformed text). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
