import type { WasmBackend } from '../src/backend.js';
import { assignParts, type PartAssignment } from '../src/threads/pool.js';

/**
 * Runs `body` with the parts of split kernel calls assigned as `assignment`
 * says (`dealt`: part i to thread i mod threads, the caller being thread 0,
 * so that workers run parts however the OS schedules them), then restores
 * the previous assignment. Returns `body`'s result and the parts the caller
 * and the workers of `backend` ran meanwhile.
 */
export function withParts<T>(assignment: PartAssignment, backend: WasmBackend, body: () => T): { result: T; byCaller: number; byWorkers: number } {
  const previous = assignParts(assignment);
  const before = backend.threadUse;
  try {
    const result = body();
    const after = backend.threadUse;
    return { result, byCaller: after.byCaller - before.byCaller, byWorkers: after.byWorkers - before.byWorkers };
  } finally {
    assignParts(previous);
  }
}
