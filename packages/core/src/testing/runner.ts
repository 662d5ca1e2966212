import type { Backend } from '../backend/backend.js';
import { ReferenceBackend } from '../reference/backend.js';
import type { ConformanceCase, ConformanceTarget } from './case.js';
import { conformanceCases } from './cases/index.js';

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Runs only the cases whose name contains this string or matches this pattern. */
  readonly filter?: string | RegExp;
  /**
   * Wall-clock budget for the whole run, in ms (default 120 000). Cases that
   * would start after it are reported as skipped with the reason; large cases
   * run last, so a tight budget drops them first.
   */
  readonly timeBudgetMs?: number;
  /** Called after each case that ran (passed or failed), for live reporting. */
  readonly onCase?: (result: ConformanceCaseResult) => void;
  /** The reference to compare against; by default a fresh {@link ReferenceBackend}. */
  readonly reference?: Backend;
}

/** The outcome of one case. */
export interface ConformanceCaseResult {
  readonly name: string;
  readonly kernel: ConformanceTarget;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** True when the case passed. */
  readonly ok: boolean;
  /** Time the case took (0 when skipped). */
  readonly ms: number;
  /** Why it failed, or why it was skipped. */
  readonly error?: string;
}

/** The outcome of a conformance run. */
export interface ConformanceReport {
  /** Name of the backend under test. */
  readonly backend: string;
  /** Its description (adapter, build, threads...). */
  readonly description: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly durationMs: number;
  readonly timeBudgetMs: number;
  /** True when the time budget ran out and cases were skipped for it. */
  readonly budgetExhausted: boolean;
  readonly cases: readonly ConformanceCaseResult[];
}

const DEFAULT_BUDGET_MS = 120_000;

const now = () => performance.now();
const message = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e));

function matches(filter: string | RegExp | undefined, name: string): boolean {
  if (filter === undefined) return true;
  return typeof filter === 'string' ? name.includes(filter) : filter.test(name);
}

async function runCase(c: ConformanceCase, backend: Backend, reference: Backend, fresh: () => Promise<Backend>): Promise<string | undefined> {
  const live = backend.memory().tensors;
  try {
    await c.run(backend, reference, fresh);
  } catch (e) {
    return message(e);
  }
  const leaked = backend.memory().tensors - live;
  return leaked === 0 ? undefined : `${leaked} device tensor(s) still live after the case freed everything it created (a kernel leaks).`;
}

/**
 * Runs the conformance suite on a backend created by `createBackend`,
 * against the reference backend, and reports every case. Runner-agnostic:
 * it needs no test framework and runs in Node and in browsers. A case fails
 * on any mismatch beyond the tolerances of `CONFORMANCE_TOLERANCES`, on a wrong error
 * code, or when the backend holds more live tensors afterwards than before.
 * The backend is disposed at the end (the reference too, unless passed in).
 */
export async function runConformance(createBackend: () => Promise<Backend>, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const budget = options.timeBudgetMs ?? DEFAULT_BUDGET_MS;
  const start = now();
  const backend = await createBackend();
  const reference = options.reference ?? new ReferenceBackend();
  const results: ConformanceCaseResult[] = [];
  try {
    const selected = conformanceCases().filter((c) => matches(options.filter, c.name));
    const ordered = [...selected.filter((c) => !c.large), ...selected.filter((c) => c.large)];
    for (const c of ordered) {
      const elapsed = now() - start;
      if (elapsed >= budget) {
        results.push({
          name: c.name,
          kernel: c.kernel,
          status: 'skipped',
          ok: false,
          ms: 0,
          error: `time budget of ${budget} ms used up after ${Math.round(elapsed)} ms`,
        });
        continue;
      }
      const t0 = now();
      const error = await runCase(c, backend, reference, createBackend);
      const result: ConformanceCaseResult = {
        name: c.name,
        kernel: c.kernel,
        status: error ? 'failed' : 'passed',
        ok: !error,
        ms: now() - t0,
        ...(error ? { error } : {}),
      };
      results.push(result);
      options.onCase?.(result);
    }
  } finally {
    await backend.dispose();
    if (!options.reference) await reference.dispose();
  }
  const count = (status: ConformanceCaseResult['status']) => results.filter((r) => r.status === status).length;
  return {
    backend: backend.name,
    description: backend.description,
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    durationMs: now() - start,
    timeBudgetMs: budget,
    budgetExhausted: count('skipped') > 0,
    cases: results,
  };
}

/** A human-readable summary: one line per failed case, then the totals. */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = report.cases.filter((c) => c.status === 'failed').map((c) => `FAIL ${c.name}: ${c.error}`);
  lines.push(
    `${report.backend} (${report.description}): ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped` +
      `${report.budgetExhausted ? ` (time budget of ${report.timeBudgetMs} ms exhausted)` : ''} in ${Math.round(report.durationMs)} ms`,
  );
  return lines.join('\n');
}
