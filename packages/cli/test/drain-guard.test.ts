// A command whose work is still pending when the event loop drains must not
// end the process with status 0 and no result: the built `lorafuse` says so
// and exits non-zero. The drain is made real: a preloaded module makes every
// file operation under the model folder a promise that never settles, so
// nothing keeps the process alive while `info` waits for it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DRAINED_EXIT_CODE, guardDrain, type DrainTarget } from '../src/drain-guard.js';
import { FIXTURES } from '../../core/test/fixtures/index.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const MODEL = join(FIXTURES, 'llama-tiny');

const HANG = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const under = process.env.LORAFUSE_TEST_HANG_UNDER;
for (const name of ['readFile', 'open', 'stat', 'lstat', 'readdir', 'access']) {
  const original = fs.promises[name];
  fs.promises[name] = (path, ...rest) => (String(path).startsWith(under) ? new Promise(() => {}) : original(path, ...rest));
}
syncBuiltinESMExports();
`;

const dir = mkdtempSync(join(tmpdir(), 'lorafuse-drain-'));
const preload = join(dir, 'hang.mjs');
writeFileSync(preload, HANG);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBin(args: string[], hangUnder?: string) {
  return spawnSync(process.execPath, [...(hangUnder ? ['--import', preload] : []), BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LORAFUSE_TEST_HANG_UNDER: hangUnder ?? '' },
  });
}

describe('a command that never finishes', () => {
  it('exits non-zero with a message when the event loop drains while its work is pending', () => {
    const { status, stdout, stderr } = runBin(['info', MODEL], MODEL);
    expect(status).toBe(DRAINED_EXIT_CODE);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/about to exit before the command finished.*\[INTERNAL\]/);
  });

  it('leaves a command that finishes alone', () => {
    const { status, stdout, stderr } = runBin(['info', MODEL]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toMatch(/llama/);
  });
});

describe('guardDrain', () => {
  function fakeProcess() {
    const listeners = new Set<() => void>();
    const written: string[] = [];
    const exits: number[] = [];
    const target: DrainTarget = {
      on: (_event, listener) => listeners.add(listener),
      off: (_event, listener) => listeners.delete(listener),
      exit: ((code: number) => {
        exits.push(code);
      }) as DrainTarget['exit'],
      stderr: { write: (text: string) => written.push(text) },
    };
    const drain = () => {
      for (const l of [...listeners]) l();
    };
    return { target, listeners, written, exits, drain };
  }

  it('passes the exit status through and stops listening once the work settles', async () => {
    const p = fakeProcess();
    await expect(guardDrain(Promise.resolve(3), p.target)).resolves.toBe(3);
    expect(p.listeners.size).toBe(0);
    p.drain();
    expect(p.exits).toEqual([]);
  });

  it('stops listening when the work rejects too', async () => {
    const p = fakeProcess();
    await expect(guardDrain(Promise.reject(new Error('boom')), p.target)).rejects.toThrow('boom');
    expect(p.listeners.size).toBe(0);
  });

  it('exits with its status and a message on a drain while the work is pending', () => {
    const p = fakeProcess();
    void guardDrain(new Promise<number>(() => {}), p.target);
    p.drain();
    expect(p.exits).toEqual([DRAINED_EXIT_CODE]);
    expect(p.written.join('')).toMatch(/No result was written/);
  });
});
