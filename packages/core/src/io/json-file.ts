import { LoraFuseError } from '../errors/index.js';
import type { Folder } from './folder.js';
import { DEFAULT_JSON_LIMITS, parseJsonBytes, type JsonLimits } from './text.js';

/**
 * Reads and parses a JSON file of a folder as {@link parseJsonBytes} does,
 * refusing a file over `limits.maxBytes` from its size alone, before any of
 * it is read (`JSON_LIMIT_EXCEEDED`).
 */
export async function readJsonFile(folder: Folder, path: string, limits: JsonLimits = {}, signal?: AbortSignal): Promise<unknown> {
  const source = await folder.open(path);
  const where = `${folder.name}/${path}`;
  const maxBytes = limits.maxBytes ?? DEFAULT_JSON_LIMITS.maxBytes;
  if (source.size > maxBytes) {
    throw new LoraFuseError(
      'JSON_LIMIT_EXCEEDED',
      `${where} is ${source.size} bytes, over the ${maxBytes}-byte limit for JSON; raise the JSON maxBytes limit only if you trust it.`,
      {
        details: { file: where, bytes: source.size, maxBytes },
      },
    );
  }
  return parseJsonBytes(await source.read(0, source.size, signal), where, limits);
}
