import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PROVENANCE_HEADING } from './report.js';
import { TIMING_COLUMNS } from './tables.js';

/** JSON keys left out of a comparison: wall times and provenance, which differ between two runs of the same code. */
const IGNORED_KEYS = new Set(['provenance', 'seconds', 'fitSeconds', 'evaluateSeconds']);
/** Differences listed per file before the rest is counted. */
const SHOWN_PER_FILE = 12;

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(json|md)$/.test(e.name))
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** `value` as `path = JSON` lines, the ignored keys left out, in key order. */
function flatten(value: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) flatten(v, `${path}[${i}]`, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (!IGNORED_KEYS.has(k)) flatten(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, JSON.stringify(value));
  return out;
}

/** The report's lines without its provenance section, with the timing columns' cells blanked. */
export function comparableMarkdown(text: string): string[] {
  const lines: string[] = [];
  let inProvenance = false;
  let timing: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) inProvenance = line.trim() === PROVENANCE_HEADING;
    if (inProvenance) continue;
    if (!line.startsWith('|')) {
      timing = [];
      lines.push(line);
      continue;
    }
    // A table's first row is its header: it says which columns hold wall times.
    const cells = line.split('|');
    if (timing.length === 0) timing = cells.flatMap((c, i) => ((TIMING_COLUMNS as readonly string[]).includes(c.trim()) ? [i] : []));
    lines.push(cells.map((c, i) => (timing.includes(i) ? ' · ' : c)).join('|'));
  }
  return lines;
}

function compareJson(committed: string, fresh: string): string[] {
  const a = flatten(JSON.parse(committed), '', new Map());
  const b = flatten(JSON.parse(fresh), '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => `${k || '(value)'}: committed ${a.get(k) ?? '(absent)'}, fresh ${b.get(k) ?? '(absent)'}`);
}

function compareMarkdown(committed: string, fresh: string): string[] {
  const a = comparableMarkdown(committed);
  const b = comparableMarkdown(fresh);
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) out.push(`line ${i + 1}:\n      committed ${a[i] ?? '(absent)'}\n      fresh     ${b[i] ?? '(absent)'}`);
  }
  return out;
}

/**
 * What differs between two results folders, all but the wall times and the
 * provenance: the JSON files value by value, `results.md` line by line
 * (timing columns blanked, the provenance section left out). Each entry is
 * a file followed by its differences, at most {@link SHOWN_PER_FILE} shown;
 * none when the folders agree. The plots are drawn from the JSON and not compared.
 */
export async function compareResults(committed: string, fresh: string): Promise<string[]> {
  const [left, right] = [await files(committed), await files(fresh)];
  const report: string[] = [];
  for (const file of [...new Set([...left, ...right])].sort()) {
    if (!right.includes(file)) report.push(`${file}: only in the committed results`);
    else if (!left.includes(file)) report.push(`${file}: only in the fresh run`);
    else {
      const [a, b] = [await readFile(join(committed, file), 'utf8'), await readFile(join(fresh, file), 'utf8')];
      const diff = file.endsWith('.json') ? compareJson(a, b) : compareMarkdown(a, b);
      if (diff.length === 0) continue;
      const more = diff.length > SHOWN_PER_FILE ? [`… and ${diff.length - SHOWN_PER_FILE} more`] : [];
      report.push(`${file}: ${diff.length} difference${diff.length === 1 ? '' : 's'}`, ...[...diff.slice(0, SHOWN_PER_FILE), ...more].map((d) => `    ${d}`));
    }
  }
  return report;
}
