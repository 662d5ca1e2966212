// Runs fuzz cases and tallies how each one ended.
import { ErrorCodes, isLoraFuseError } from '@lorafuse/core';
import { recordingFolder, type ReadStats } from './recording-folder.js';
import { Rng } from './rng.js';
import { TARGETS, type FuzzTarget } from './targets.js';

/**
 * Codes that say the loader did not validate its input itself: an
 * out-of-bounds read (a lying offset reached the byte source) or a bad
 * option (an internal call got a value the loader should have refused).
 */
const CATCH_ALL_CODES: ReadonlySet<string> = new Set(['READ_OUT_OF_BOUNDS', 'INVALID_OPTION']);

/**
 * Default of {@link FuzzOptions.timeBoundMs}: far beyond any case's time
 * (the slowest take under 1 s on a 2-core machine whose cores are all busy
 * with other work), so that a case over it is stuck, not slow, however
 * loaded the machine.
 */
const HANG_MS = 10_000;

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  seed: number;
  cases: number;
  /** A case taking longer than this counts as a hang (default {@link HANG_MS}); one with no result after 4 times as long is left. */
  timeBoundMs?: number;
  /** Replay only these case indices. */
  only?: readonly number[];
}

/** A case that ended badly, with what it takes to replay it. */
interface BadCase {
  index: number;
  target: string;
  mutation: string;
  problem: string;
}

/** What a fuzz run found. */
export interface FuzzTally {
  cases: number;
  /** Outcomes: `ok` or the error code. */
  outcomes: Record<string, number>;
  byTarget: Record<string, number>;
  /** Cases that ended in success or an error raised after every header and config was validated (see FuzzTarget). */
  pastHeader: number;
  crashes: number;
  hangs: number;
  untyped: number;
  catchAll: number;
  overReads: number;
  slowestMs: number;
  /** Largest single read over the size of its file, across cases. */
  maxReadRatio: number;
  /** Largest total bytes read in one case over the total size of its files. */
  maxTotalReadRatio: number;
  wallMs: number;
  bad: BadCase[];
}

/** The target and the generator of case `index` under `seed`: each case replays on its own. */
function caseSetup(seed: number, index: number): { rng: Rng; target: FuzzTarget } {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const total = TARGETS.reduce((n, t) => n + t.weight, 0);
  const pick = rng.next() * total;
  let below = 0;
  const target =
    TARGETS.find((t) => {
      below += t.weight;
      return pick - below < 0;
    }) ?? TARGETS[TARGETS.length - 1];
  return { rng, target };
}

const TIMEOUT = Symbol('timeout');

/** Runs the cases; never throws for a case, it records it. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzTally> {
  const tally: FuzzTally = {
    cases: 0,
    outcomes: {},
    byTarget: {},
    pastHeader: 0,
    crashes: 0,
    hangs: 0,
    untyped: 0,
    catchAll: 0,
    overReads: 0,
    slowestMs: 0,
    maxReadRatio: 0,
    maxTotalReadRatio: 0,
    wallMs: 0,
    bad: [],
  };
  const timeBoundMs = options.timeBoundMs ?? HANG_MS;
  const start = performance.now();
  const indices = options.only ?? Array.from({ length: options.cases }, (_, i) => i);
  for (const index of indices) {
    const { rng, target } = caseSetup(options.seed, index);
    const input = await target.generate(rng);
    const stats: ReadStats = { maxRead: 0, maxReadFileSize: 0, overReads: 0, totalRead: 0 };
    let past = false;
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), timeBoundMs * 4)));
    let outcome: string;
    let problem: string | undefined;
    try {
      const result = await Promise.race([target.run(recordingFolder(input.files, stats), () => (past = true)), timeout]);
      outcome = result === TIMEOUT ? 'hang' : 'ok';
    } catch (e) {
      outcome = isLoraFuseError(e) ? e.code : 'crash';
      if (!isLoraFuseError(e)) problem = `${(e as Error)?.name}: ${(e as Error)?.message}`;
      else if (CATCH_ALL_CODES.has(e.code)) problem = `catch-all ${e.code}: ${e.message}`;
      else if (!Object.hasOwn(ErrorCodes, e.code)) problem = `untyped: code ${String(e.code)} is not a documented ErrorCode`;
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    if (ms > timeBoundMs && outcome !== 'hang') [outcome, problem] = ['hang', `took ${ms.toFixed(0)} ms (ended ${outcome})`];
    if (outcome === 'hang') problem ??= `no result within ${timeBoundMs * 4} ms`;
    tally.cases++;
    tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
    tally.byTarget[target.name] = (tally.byTarget[target.name] ?? 0) + 1;
    if (outcome === 'crash') tally.crashes++;
    else if (outcome === 'hang') tally.hangs++;
    else if (problem?.startsWith('catch-all')) tally.catchAll++;
    else if (problem) tally.untyped++;
    else if (past) tally.pastHeader++;
    tally.overReads += stats.overReads;
    tally.slowestMs = Math.max(tally.slowestMs, ms);
    if (stats.maxReadFileSize > 0) tally.maxReadRatio = Math.max(tally.maxReadRatio, stats.maxRead / stats.maxReadFileSize);
    const size = [...input.files.values()].reduce((n, b) => n + b.byteLength, 0);
    tally.maxTotalReadRatio = Math.max(tally.maxTotalReadRatio, stats.totalRead / Math.max(1, size));
    if (stats.overReads > 0) problem ??= `read more bytes than the file holds (${stats.maxRead} of ${stats.maxReadFileSize})`;
    if (problem && tally.bad.length < 20) tally.bad.push({ index, target: target.name, mutation: input.mutation, problem });
  }
  tally.wallMs = performance.now() - start;
  return tally;
}

/** The tally as a short report. */
export function formatTally(t: FuzzTally, seed: number): string {
  const sorted = (r: Record<string, number>) =>
    Object.entries(r)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n');
  return [
    `fuzz seed ${seed}: ${t.cases} cases in ${(t.wallMs / 1000).toFixed(1)} s (slowest case ${t.slowestMs.toFixed(0)} ms)`,
    `crashes ${t.crashes}, hangs ${t.hangs}, untyped ${t.untyped}, catch-all ${t.catchAll}, over-reads ${t.overReads}`,
    `past header: ${t.pastHeader} (${((100 * t.pastHeader) / t.cases).toFixed(1)}%)`,
    `largest read / its file size: ${t.maxReadRatio.toFixed(3)}; largest bytes read in a case / input size: ${t.maxTotalReadRatio.toFixed(2)}`,
    `by target:\n${sorted(t.byTarget)}`,
    `outcomes (${Object.keys(t.outcomes).length}):\n${sorted(t.outcomes)}`,
    ...t.bad.map((b) => `BAD case ${b.index} [${b.target} ${b.mutation}]: ${b.problem}`),
  ].join('\n');
}
