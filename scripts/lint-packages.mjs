#!/usr/bin/env node
// Lints what every package under packages/* would publish: publint (package.json
// fields, exports map, file formats; suggestions count as problems) and
// @arethetypeswrong/cli with the node16 profile (types resolve the same way
// as the code for `import` and `require`; node10 cannot read subpath exports,
// so it is not checked). Packages must be built first (`npm run build`).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ATTW = join(ROOT, 'node_modules/.bin/attw');
const run = promisify(execFile);

function packageDirs() {
  const base = join(ROOT, 'packages');
  return readdirSync(base)
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .sort();
}

async function lintWithPublint(dir) {
  const { messages, pkg } = await publint({ pkgDir: dir, pack: 'npm', level: 'suggestion', strict: true });
  return messages.map((message) => `publint ${message.type}: ${formatMessage(message, pkg, { color: false })}`);
}

async function lintWithAttw(dir) {
  try {
    const { stdout } = await run(ATTW, ['--pack', dir, '--profile', 'node16', '--format', 'table', '--no-color', '--no-emoji'], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    // attw passes a package without any types; every LoRAFuse package must ship them.
    return stdout.includes('does not contain types') ? ['attw (node16): the package does not contain types'] : [];
  } catch (error) {
    // attw exits non-zero when it finds problems; its report is on stdout.
    return [`attw (node16): ${`${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message}`];
  }
}

async function main() {
  let failed = 0;
  for (const dir of packageDirs()) {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!existsSync(join(dir, 'dist'))) {
      console.log(`FAIL ${name}: not built (run \`npm run build\` first)`);
      failed += 1;
      continue;
    }
    const problems = [...(await lintWithPublint(dir)), ...(await lintWithAttw(dir))];
    if (problems.length === 0) {
      console.log(`ok   ${name}: publint clean, attw (node16) clean`);
    } else {
      failed += 1;
      console.log(`FAIL ${name}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
      for (const problem of problems) console.log(problem.replace(/^/gm, '       '));
    }
  }
  console.log(failed === 0 ? 'lint:pkg passed' : `lint:pkg failed: ${failed} package${failed === 1 ? '' : 's'} with problems`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`lint:pkg crashed: ${error.stack ?? error}`);
    process.exit(1);
  },
);
