import { LoraFuseError } from '../errors/index.js';
import { readAll, type ByteSource } from '../io/source.js';
import { decodeUtf8, parseJsonText } from '../io/text.js';

/** A summarisation pair: the loss covers the summary only. */
export interface PairRecord {
  readonly kind: 'pair';
  readonly source: string;
  readonly summary: string;
}

/** Plain text for language-model training: every token after the first is predicted. */
export interface TextRecord {
  readonly kind: 'text';
  readonly text: string;
}

/** One line of a data file. */
export type DataRecord = PairRecord | TextRecord;

function invalid(name: string, line: number, why: string, cause?: unknown): LoraFuseError {
  return new LoraFuseError('DATA_INVALID', `${name} line ${line}: ${why}`, { cause, details: { file: name, line } });
}

function parseLine(text: string, name: string, line: number): DataRecord {
  let value: unknown;
  try {
    // The depth limit keeps a hostile line from exhausting the parser's stack.
    value = parseJsonText(text, `${name} line ${line}`);
  } catch (cause) {
    throw invalid(name, line, `not valid JSON (${(cause as Error).message}).`, cause);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(name, line, 'expected a JSON object.');
  const record = value as Record<string, unknown>;
  if ('text' in record) {
    if (typeof record.text !== 'string') throw invalid(name, line, '"text" must be a string.');
    return { kind: 'text', text: record.text };
  }
  if (typeof record.source !== 'string' || typeof record.summary !== 'string') {
    throw invalid(name, line, 'expected {"source": string, "summary": string} or {"text": string}.');
  }
  return { kind: 'pair', source: record.source, summary: record.summary };
}

/**
 * Reads a JSONL data file: one `{"source", "summary"}` or `{"text"}` object
 * per line; blank lines are skipped. Throws `DATA_INVALID` naming the
 * (1-based) line of the first bad record, `INVALID_UTF8` for bad text.
 */
export async function readJsonl(source: ByteSource, signal?: AbortSignal): Promise<DataRecord[]> {
  const text = decodeUtf8(await readAll(source, signal), source.name);
  const records: DataRecord[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line !== '') records.push(parseLine(line, source.name, i + 1));
  }
  return records;
}
