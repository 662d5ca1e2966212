// Issue 9 acceptance: a training process (train-kill-child.ts, wasm backend,
// a checkpoint after every step) is SIGKILLed 20 times at random points —
// 7 of them while a checkpoint is complete in its temporary file but not yet
// renamed — and restarted each time; every restart resumes from the last
// complete checkpoint, and the final adapter equals the uninterrupted run's
// byte for byte.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, loadCheckpoint } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES } from './fixtures/index.js';
import { seeded } from './reference-oracle.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const KILLS = 20;
const KILLS_BEFORE_RENAME = 7;

/** The child script bundled for plain node, the `@lorafuse/*` imports resolved to the sources (tsconfig paths). */
async function bundleChild(outfile: string): Promise<void> {
  const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, [string]> } };
  const alias = Object.fromEntries(Object.entries(compilerOptions.paths).map(([name, [path]]) => [name, resolve(ROOT, path)]));
  await build({
    entryPoints: [fileURLToPath(new URL('./train-kill-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    alias,
    logLevel: 'silent',
  });
}

/** A running child and the lines it has printed. */
class Child {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #process: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(script: string, work: string, pauseAtCommit?: number) {
    this.#process = spawn(process.execPath, [script, FIXTURES, work, ...(pauseAtCommit === undefined ? [] : [String(pauseAtCommit)])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.#waiters) wake();
    });
    this.exited = new Promise((done) =>
      this.#process.on('exit', (code) => {
        for (const wake of this.#waiters) wake();
        done(code);
      }),
    );
  }

  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Resolves once `count` lines match `pattern`; rejects if the child exits first. */
  async waitFor(pattern: RegExp, count = 1): Promise<void> {
    while (this.lines.filter((l) => pattern.test(l)).length < count) {
      if (!this.running) throw new Error(`The child exited before printing ${count} × ${pattern}; it printed: ${this.lines.slice(-5).join(' | ')}`);
      await new Promise<void>((wake) => this.#waiters.push(wake));
      this.#waiters = [];
    }
  }

  async kill(): Promise<void> {
    this.#process.kill('SIGKILL');
    await this.exited;
  }
}

const checkpointStep = async (work: string) => ((await nodeFolder(work).exists(CHECKPOINT_FILE)) ? (await loadCheckpoint(nodeFolder(work))).progress.step : 0);
const strayTemporaries = (work: string) => readdirSync(work).filter((f) => f.startsWith(`.${CHECKPOINT_FILE}.`) && f.endsWith('.tmp'));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('SIGKILL during training, wasm backend', () => {
  let dir: string;
  let script: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lorafuse-kill-'));
    script = join(dir, 'child.mjs');
    await bundleChild(script);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`${KILLS} kills (${KILLS_BEFORE_RENAME} between the temporary checkpoint and its rename), each resumed: the final adapter equals the uninterrupted run's`, async () => {
    const started = performance.now();
    const whole = new Child(script, join(dir, 'whole'));
    await whole.waitFor(/^STEP 1$/);
    const firstStep = performance.now();
    await whole.waitFor(/^DONE$/);
    const totalSteps = Math.max(...whole.lines.flatMap((l) => (l.startsWith('STEP ') ? [Number(l.slice(5))] : [])));
    // Timed kills land within a few steps of a child's start, however long start-up takes on a loaded machine.
    const stepMs = (performance.now() - firstStep) / Math.max(1, totalSteps - 1);

    const work = join(dir, 'killed');
    const rand = seeded(2026);
    const kinds: string[] = Array.from({ length: KILLS }, (_, i) => (i < KILLS_BEFORE_RENAME ? 'before-rename' : i < 14 ? 'after-steps' : 'timed'));
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    const log: string[] = [];
    let killedBeforeRename = 0;
    let last = 0;
    for (const kind of kinds) {
      const pauseAt = kind === 'before-rename' ? 1 + Math.floor(rand() * 3) : undefined;
      const child = new Child(script, work, pauseAt);
      if (kind === 'before-rename') {
        await child.waitFor(/^PAUSED /);
      } else if (kind === 'after-steps') {
        await child.waitFor(/^STEP /, 1 + Math.floor(rand() * 3));
        await sleep(rand() * 4);
      } else {
        await child.waitFor(/^START /);
        await sleep(rand() * 3 * stepMs);
      }
      await child.kill();
      const resumedFrom = Number(child.lines.find((l) => l.startsWith('START '))?.slice(6) ?? last);
      const step = await checkpointStep(work);
      log.push(`${kind} ${resumedFrom}→${step}`);
      expect(step).toBeGreaterThanOrEqual(last);
      if (kind === 'before-rename') {
        // Killed holding a complete, unrenamed checkpoint: the folder still has the one before it.
        expect(strayTemporaries(work).length).toBeGreaterThan(0);
        expect(step).toBe(resumedFrom + pauseAt! - 1);
        killedBeforeRename++;
      }
      last = step;
    }
    expect(last).toBeLessThan(totalSteps);

    const finish = new Child(script, work);
    await finish.waitFor(/^DONE$/);
    const adapterFile = (run: string) => readFileSync(join(dir, run, 'final', 'adapter_model.safetensors'));
    console.log(
      `train-kill: ${totalSteps} steps, ${KILLS} kills (${killedBeforeRename} before rename): ${log.join(', ')}; resumed at ${finish.lines[0]}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(killedBeforeRename).toBe(KILLS_BEFORE_RENAME);
    expect(adapterFile('killed').equals(adapterFile('whole'))).toBe(true);
    expect(readFileSync(join(dir, 'killed', 'final', 'adapter_config.json'), 'utf8')).toBe(
      readFileSync(join(dir, 'whole', 'final', 'adapter_config.json'), 'utf8'),
    );
  });
});
