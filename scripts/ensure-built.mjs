#!/usr/bin/env node
// Builds the packages when a build is missing or older than its sources, so
// that `npm run demo` and `npm test` work right after `npm ci` on a fresh
// clone and cost nothing when the build is current.
//
// Usage: node scripts/ensure-built.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What a package's build reads, besides its package.json. */
const SOURCES = ['src', 'assembly', 'scripts', 'tsup.config.ts', 'package.json'];

/** The newest (`pick` = Math.max) or oldest (Math.min) modification time of the files under `path`. */
function mtime(path, pick) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let found = pick === Math.max ? 0 : Infinity;
  for (const entry of readdirSync(path)) found = pick(found, mtime(join(path, entry), pick));
  return found;
}

/** Why `dir` needs a build, or undefined when its dist is newer than every source. */
function staleness(dir) {
  const dist = join(dir, 'dist');
  if (!existsSync(dist) || readdirSync(dist).length === 0) return 'not built';
  const sources = SOURCES.map((s) => join(dir, s)).filter(existsSync);
  const newest = Math.max(...sources.map((s) => mtime(s, Math.max)), mtime(join(ROOT, 'tsup.base.ts'), Math.max));
  return newest > mtime(dist, Math.min) ? 'sources changed since the last build' : undefined;
}

const { workspaces } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const stale = workspaces.map((w) => [w, staleness(join(ROOT, w))]).filter(([, why]) => why);
if (stale.length > 0) {
  console.error(`ensure-built: building (${stale.map(([w, why]) => `${w}: ${why}`).join('; ')})`);
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
}
