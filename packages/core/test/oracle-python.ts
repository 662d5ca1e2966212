// Finds the Python that the live PyTorch/PEFT checks run with, for every
// test that needs one (PEFT interop, the manual-pages PEFT comparison, the
// guides' Python samples).
//
// Where it looks: $LORAFUSE_PYTHON, then .venv-oracle/bin/python in the
// repository root. `scripts/oracle-python.sh` makes one from pip's
// configured package index, and `.ci/run` exports it. Without one a check
// skips with a visible line; with CI=true a missing Python fails the suite,
// unless LORAFUSE_NO_PYTHON gives the reason (set by .ci/run when the
// machine has no package index to make one from).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ORACLE_MODULES = ['torch', 'transformers', 'peft', 'safetensors'] as const;

const found = new Map<string, { python?: string; why: string }>();

/**
 * The oracle Python, or why there is none (thrown under CI=true unless
 * LORAFUSE_NO_PYTHON says why). `extra` names more modules it must have,
 * such as `gguf` (scripts/oracle-python.sh installs it too).
 */
export function oraclePython(extra: readonly string[] = []): { python?: string; why: string } {
  const modules = [...ORACLE_MODULES, ...extra];
  const key = modules.join(',');
  if (!found.has(key)) found.set(key, look(modules));
  const result = found.get(key)!;
  if (!result.python && process.env.CI === 'true' && !process.env.LORAFUSE_NO_PYTHON) {
    throw new Error(`CI=true needs the oracle Python for the PyTorch/PEFT checks: ${result.why}. Run scripts/oracle-python.sh and set LORAFUSE_PYTHON.`);
  }
  return result;
}

function look(modules: readonly string[]): { python?: string; why: string } {
  const candidates = [process.env.LORAFUSE_PYTHON, join(ROOT, '.venv-oracle/bin/python')].filter((p): p is string => !!p);
  // find_spec locates the packages without importing torch (seconds saved on every run).
  const probe = `import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ${JSON.stringify(modules)}) else 1)`;
  for (const python of candidates) {
    if (!existsSync(python)) continue;
    if (spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 60_000 }).status === 0) return { python, why: '' };
  }
  const reason = process.env.LORAFUSE_NO_PYTHON ? ` (${process.env.LORAFUSE_NO_PYTHON})` : '';
  return {
    why: `no Python with ${modules.join(', ')}${reason}; tried ${candidates.join(', ') || 'nothing'} (set LORAFUSE_PYTHON, e.g. to the output of scripts/oracle-python.sh)`,
  };
}
