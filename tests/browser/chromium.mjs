// Locating and launching Debian's chromium for the browser suites.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Launch arguments: no sandbox (containers), WebGPU on (SwiftShader where there is no GPU), no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-sync',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
];

const executable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** `$CHROMIUM_PATH`, or `chromium`/`chromium-browser` on PATH, or undefined. */
function chromiumPath() {
  const given = process.env.CHROMIUM_PATH;
  if (given) return executable(given) ? given : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => join(dir, name))).find(executable);
}

/**
 * The chromium to run `suite` with, or, when there is none, the exit code
 * after a visible line: 1 with CI=true (CI must run the browser suites),
 * 0 with a SKIPPED line elsewhere, so that a fresh clone still passes.
 */
export function chromiumForSuite(suite) {
  const path = chromiumPath();
  if (path) return { path };
  const why = 'chromium not found (install Debian chromium, e.g. with .ci/install-system, or set CHROMIUM_PATH)';
  if (process.env.CI === 'true') {
    console.error(`FAIL ${suite}: ${why}; CI=true requires it`);
    return { exitCode: 1 };
  }
  console.log(`\nSKIPPED ${suite}: ${why}\n`);
  return { exitCode: 0 };
}
