/**
 * The page side of the browser harness (scripts/test-browser.mjs): entries
 * record their cases here, each case is forwarded to the harness as it
 * finishes, and the full report is published on `window.__report`, which the
 * harness waits for.
 */

/** One test case as the harness prints and counts it. */
export interface CaseReport {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly ms: number;
  readonly error?: string;
}

/** What an entry publishes when it is done. */
export interface EntryReport {
  readonly cases: readonly CaseReport[];
}

declare global {
  interface Window {
    /** Set once, when the entry has finished. */
    __report?: EntryReport;
    /** Exposed by the harness to print cases live; absent when the page is opened by hand. */
    __lorafuseCase?: (report: CaseReport) => Promise<void>;
  }
}

const cases: CaseReport[] = [];

/** Records a finished case and forwards it to the harness. */
export function recordCase(report: CaseReport): void {
  cases.push(report);
  void window.__lorafuseCase?.(report);
}

/** The message of a thrown value, with its stack when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack?.includes(error.message) ? error.stack : `${error.message}\n${error.stack ?? ''}`;
  return String(error);
}

/** Throws with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Runs one case, timing it; a throw fails the case and the entry goes on. */
export async function check(name: string, body: () => Promise<void> | void): Promise<boolean> {
  const start = performance.now();
  try {
    await body();
    recordCase({ name, status: 'passed', ms: performance.now() - start });
    return true;
  } catch (error) {
    recordCase({ name, status: 'failed', ms: performance.now() - start, error: describeError(error) });
    return false;
  }
}

/** The time the harness gives this entry (`?budgetMs=` in the page URL), or `fallbackMs`. */
export function budgetMs(fallbackMs: number): number {
  const value = Number(new URLSearchParams(location.search).get('budgetMs'));
  return Number.isFinite(value) && value > 0 ? value : fallbackMs;
}

/**
 * Runs an entry's body and then publishes the report. A throw from the body
 * itself (outside any {@link check}) becomes a failed case named `name`.
 */
export async function runEntry(name: string, body: () => Promise<void>): Promise<void> {
  const start = performance.now();
  try {
    await body();
  } catch (error) {
    recordCase({ name, status: 'failed', ms: performance.now() - start, error: describeError(error) });
  }
  window.__report = { cases: [...cases] };
}
