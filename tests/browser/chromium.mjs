// Locating and launching Debian's chromium for the end-to-end suite.
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
export function chromiumPath() {
  const given = process.env.CHROMIUM_PATH;
  if (given) return executable(given) ? given : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => join(dir, name))).find(executable);
}
