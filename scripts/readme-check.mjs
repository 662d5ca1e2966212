#!/usr/bin/env node
// Runs the README's first code block as a newcomer would: clones the
// repository's committed HEAD into an empty folder and runs each command of
// the block there, in order, with CI and LORAFUSE_PYTHON unset (a stranger's
// machine, where suites whose tools are missing skip with a message).
// Exits with the first failing command's status.
//
// Usage: node scripts/readme-check.mjs [--quick] [--keep]
//   --quick  run the demo with --quick (the README's command, `-- --quick` appended)
//   --keep   leave the clone in place and print where it is
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => a !== '--quick' && a !== '--keep');
if (unknown.length > 0) {
  console.error(`readme-check: unknown option ${unknown.join(', ')}; usage: node scripts/readme-check.mjs [--quick] [--keep]`);
  process.exit(2);
}

/** The commands of the README's first fenced code block, comments removed. */
function firstBlockCommands(readme) {
  const block = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme);
  if (!block) throw new Error('README.md has no fenced code block');
  return block[1]
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

const commands = firstBlockCommands(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((command) =>
  args.has('--quick') && /npm run demo$/.test(command) ? `${command} -- --quick` : command,
);
const dir = mkdtempSync(join(tmpdir(), 'lorafuse-readme-'));
const clone = join(dir, 'lorafuse');
const env = { ...process.env };
for (const name of ['CI', 'LORAFUSE_PYTHON', 'LORAFUSE_NO_PYTHON']) delete env[name];

function run(command, cwd) {
  console.log(`\n$ ${command}    (in ${cwd})`);
  const started = Date.now();
  const result = spawnSync('bash', ['-c', command], { cwd, env, stdio: 'inherit' });
  const status = result.status ?? 1;
  console.log(`readme-check: \`${command}\` exited ${status} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return status;
}

let status = run(`git clone --quiet --no-hardlinks "${ROOT}" "${clone}"`, dir);
for (const command of commands) {
  if (status !== 0) break;
  status = run(command, clone);
}
if (args.has('--keep')) console.log(`readme-check: the clone is in ${clone}`);
else rmSync(dir, { recursive: true, force: true });
console.log(status === 0 ? `readme-check: the README's ${commands.length} commands passed on a fresh clone` : 'readme-check: FAILED');
process.exit(status);
