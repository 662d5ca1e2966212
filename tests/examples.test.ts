import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The examples import the built packages, as a user would.
const root = join(import.meta.dirname, '..');
const built = existsSync(join(root, 'packages/core/dist/index.js'));
if (!built && process.env.CI !== 'true') console.warn('SKIPPED examples: run `npm run build` first');
const run = promisify(execFile);

describe.skipIf(!built && process.env.CI !== 'true')('examples/node', () => {
  it('inspect-adapter lists the modules of a PEFT adapter and saves an edited copy', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lorafuse-example-'));
    const fixture = join(root, 'packages/core/test/fixtures/lora-qv-r8');
    const { stdout } = await run(process.execPath, [join(root, 'examples/node/inspect-adapter.mjs'), fixture, out]);
    expect(stdout).toMatch(/r=8 alpha=32 scaling=4, 4 modules/);
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ r: 8, lora_alpha: 32, peft_type: 'LORA' });
  });

  it('inspect-adapter reports a refused adapter by its code and exits 1', async () => {
    const fixture = join(root, 'packages/core/test/fixtures/lora-dora');
    const failure = await run(process.execPath, [join(root, 'examples/node/inspect-adapter.mjs'), fixture, tmpdir()]).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/^ADAPTER_UNSUPPORTED: /);
  });
});

describe.skipIf(!built && process.env.CI !== 'true')('examples/custom-plugin', () => {
  it('its own node:test suite passes against the built packages', async () => {
    const cwd = join(root, 'examples/custom-plugin');
    const result = await run(process.execPath, ['--test'], { cwd }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/# pass 4\b/);
  });
});
