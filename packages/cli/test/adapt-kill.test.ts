// Issue 21 acceptance: `lorafuse adapt --checkpoint` (the built CLI, wasm
// backend, a two-ratio grid chosen on dev pairs, --merged-out) is SIGKILLed
// ten times at varied moments — after a few steps, at the start of a grid
// candidate, at random times from start-up (hashing, loading) into
// training, and last after the final step (dev scoring, the grid's save,
// writing the outputs) — and started again with --resume each time; the files it finally writes equal, byte for byte, those of one
// uninterrupted run without --checkpoint. A SIGINT first stops a run after
// its current step (exit status 130) with that step in the checkpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, loadCheckpoint } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { seeded } from '../../core/test/reference-oracle.js';
import { flags, inputFlags, writeAdaptFixture } from './adapt-fixture.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const KILLS = 10;
const dir = mkdtempSync(join(tmpdir(), 'lorafuse-adapt-kill-'));
const f = await writeAdaptFixture(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const args = (out: string) => [
  'adapt',
  ...inputFlags(f),
  ...flags(`--val ${f.dev} --prune-ratio 0.3,0.6 --metric lora --lora-dropout 0.1 --epochs 10 --batch-size 1 --accumulation 1`),
  ...flags('--lr 0.02 --max-new-tokens 6 --seed 5 --backend wasm'),
  ...['--out', join(out, 'adapter'), '--merged-out', join(out, 'merged')],
];

/** The built CLI running in a child process, and the stderr lines it has printed. */
class Child {
  readonly lines: string[] = [];
  /** When each line came, in ms since the child was started. */
  readonly times: number[] = [];
  readonly exited: Promise<number | null>;
  readonly #process: ChildProcess;
  #wake: (() => void)[] = [];

  constructor(argv: string[]) {
    const started = performance.now();
    this.#process = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    createInterface({ input: this.#process.stderr! }).on('line', (line) => {
      this.lines.push(line);
      this.times.push(performance.now() - started);
      for (const wake of this.#wake.splice(0)) wake();
    });
    this.exited = new Promise((done) =>
      this.#process.on('exit', (code) => {
        for (const wake of this.#wake.splice(0)) wake();
        done(code);
      }),
    );
  }

  get exitCode(): number | null {
    return this.#process.exitCode;
  }

  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Resolves once `count` lines match `pattern`, or the child has exited. */
  async waitFor(pattern: RegExp, count = 1): Promise<void> {
    while (this.running && this.lines.filter((l) => pattern.test(l)).length < count) await new Promise<void>((wake) => this.#wake.push(wake));
  }

  async signal(name: 'SIGKILL' | 'SIGINT'): Promise<number | null> {
    this.#process.kill(name);
    return this.exited;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const STEP = /^step (\d+) /;

/** Where the checkpoint stands: grid candidates done, and the trainer step of the one under way. */
async function standing(ck: string): Promise<string> {
  if (!existsSync(ck)) return 'none';
  const tried = existsSync(join(ck, 'grid.json')) ? (JSON.parse(readFileSync(join(ck, 'grid.json'), 'utf8')) as { tried: number }).tried : 0;
  const current = join(ck, `candidate-${tried}`);
  const step = existsSync(join(current, CHECKPOINT_FILE)) ? (await loadCheckpoint(nodeFolder(current))).progress.step : 0;
  return `${tried}:${step}`;
}

const OUTPUTS = ['adapter/adapter_model.safetensors', 'adapter/adapter_config.json', 'adapter/lorafuse.json', 'merged/model.safetensors', 'merged/config.json'];

describe('lorafuse adapt --checkpoint, killed and resumed', () => {
  it(`${KILLS} SIGKILLs (after a SIGINT), each resumed: the adapter, lorafuse.json and merged model equal the uninterrupted run's`, async () => {
    const wholeDir = join(dir, 'whole');
    const started = performance.now();
    const whole = new Child(args(wholeDir));
    expect(await whole.exited, whole.lines.join('\n')).toBe(0);
    const runMs = performance.now() - started;
    const stepTimes = whole.times.filter((_, i) => STEP.test(whole.lines[i]));
    const totalSteps = stepTimes.length;
    expect(totalSteps).toBe(2 * 10 * 6);
    // Timed kills land from start-up to about 8 steps in, however long start-up takes on a loaded machine.
    const stepMs = (stepTimes.at(-1)! - stepTimes[0]) / (totalSteps - 1);
    const timedMs = stepTimes[0] + 8 * stepMs;

    const work = join(dir, 'killed');
    const ck = join(dir, 'checkpoint');
    const resumed = [...args(work), '--checkpoint', ck, '--checkpoint-every', '1', '--resume'];

    // Ctrl-C: the run stops after its current step, which the checkpoint then holds.
    const interrupted = new Child(resumed);
    await interrupted.waitFor(STEP, 3);
    expect(await interrupted.signal('SIGINT')).toBe(130);
    const lastStep = Number(STEP.exec(interrupted.lines.filter((l) => STEP.test(l)).at(-1)!)![1]);
    expect(interrupted.lines.at(-1)).toBe(
      `lorafuse: adapt was interrupted; ${ck} holds the last completed step: run the same command with --resume to continue. [ABORTED]`,
    );
    expect(await standing(ck)).toBe(`0:${lastStep}`);

    const rand = seeded(21);
    const kinds: string[] = Array.from({ length: KILLS - 1 }, (_, i) => (i < 4 ? 'after-steps' : i < 6 ? 'at-candidate' : 'timed'));
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    // Last, a kill after the grid's last step: in the dev scoring, the grid's save or the writing of the outputs.
    kinds.push('after-last-step');
    const log: string[] = [];
    let landed = 0;
    for (const kind of kinds) {
      const before = await standing(ck);
      const child = new Child(resumed);
      if (kind === 'after-steps') {
        await child.waitFor(STEP, 1 + Math.floor(rand() * 6));
        await sleep(rand() * 4);
      } else if (kind === 'at-candidate') {
        await child.waitFor(/^prune ratio 0\.6:$/);
      } else if (kind === 'after-last-step') {
        await child.waitFor(new RegExp(`^step ${totalSteps / 2} `), 1 + Number(before.startsWith('0:')));
        await sleep(rand() * 4 * stepMs);
      } else {
        await sleep(rand() * timedMs);
      }
      if (child.running) landed++;
      // A run the kill came too late for must have completed.
      else expect(child.exitCode, child.lines.join('\n')).toBe(0);
      await child.signal('SIGKILL');
      log.push(`${kind} ${before}→${await standing(ck)}`);
    }
    // Most kills hit a running process (a late one may find it done, which is a run too), in both candidates.
    expect(landed, log.join(', ')).toBeGreaterThanOrEqual(KILLS / 2);
    expect(log.some((l) => / 0:\d+→/.test(l)) && log.some((l) => / 1:\d+→/.test(l)), log.join(', ')).toBe(true);

    const finish = new Child(resumed);
    expect(await finish.exited, finish.lines.join('\n')).toBe(0);
    console.log(
      `adapt-kill: ${totalSteps} steps in ${(runMs / 1000).toFixed(1)} s uninterrupted; SIGINT at step ${lastStep}; ${KILLS} kills (${landed} on a running process): ${log.join(', ')}; ` +
        `the last run printed ${finish.lines.filter((l) => STEP.test(l)).length} steps`,
    );
    for (const file of OUTPUTS) expect(readFileSync(join(work, file)).equals(readFileSync(join(wholeDir, file))), file).toBe(true);
    expect(readdirSync(join(work, 'adapter')).sort()).toEqual(readdirSync(join(wholeDir, 'adapter')).sort());
  }, 600_000);
});
