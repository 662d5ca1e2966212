// How the built `lorafuse` ends. A command whose work is still pending when
// the event loop drains must not end the process with status 0 and no
// result: it says so and exits non-zero (the drain is made real: a preloaded
// module makes every file operation under the model folder a promise that
// never settles, so nothing keeps the process alive while `info` waits for
// it). A finished command exits at once, even with a handle left that would
// keep the event loop alive (a preloaded interval timer).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DRAINED_EXIT_CODE, guardDrain, type DrainTarget } from '../src/drain-guard.js';
import { exitWhenFlushed, type ExitTarget } from '../src/exit.js';
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
const LINGER = 'setInterval(() => {}, 1000);\n';

const dir = mkdtempSync(join(tmpdir(), 'lorafuse-drain-'));
const preload = join(dir, 'hang.mjs');
writeFileSync(preload, HANG);
const linger = join(dir, 'linger.mjs');
writeFileSync(linger, LINGER);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBin(args: string[], options: { hangUnder?: string; linger?: boolean } = {}) {
  const imports = [...(options.hangUnder ? ['--import', preload] : []), ...(options.linger ? ['--import', linger] : [])];
  return spawnSync(process.execPath, [...imports, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LORAFUSE_TEST_HANG_UNDER: options.hangUnder ?? '' },
    // A watchdog only: a process the command line fails to end is killed, and its status is null.
    timeout: 120_000,
  });
}

describe('a command that never finishes', () => {
  it('exits non-zero with a message when the event loop drains while its work is pending', () => {
    const { status, stdout, stderr } = runBin(['info', MODEL], { hangUnder: MODEL });
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

  it('exits when done although a handle would keep the event loop alive, with all of its output', () => {
    const { status, stdout, stderr } = runBin(['info', MODEL, '--json'], { linger: true });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ kind: 'model', architecture: 'LlamaForCausalLM' });
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

describe('exitWhenFlushed', () => {
  it('exits with the status only after both streams have called back', async () => {
    const events: string[] = [];
    const pending: Array<() => void> = [];
    const stream = (name: string) => ({
      write: (_text: string, done: () => void) => {
        events.push(`write ${name}`);
        pending.push(() => {
          events.push(`flushed ${name}`);
          done();
        });
      },
    });
    const target: ExitTarget = {
      stdout: stream('out'),
      stderr: stream('err'),
      exit: ((code: number) => {
        events.push(`exit ${code}`);
      }) as ExitTarget['exit'],
    };
    const exiting = exitWhenFlushed(4, target);
    await Promise.resolve();
    expect(events).toEqual(['write out', 'write err']);
    for (const flush of pending) flush();
    await exiting;
    expect(events).toEqual(['write out', 'write err', 'flushed out', 'flushed err', 'exit 4']);
  });
});
