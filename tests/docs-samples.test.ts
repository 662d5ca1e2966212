// Every code sample in the guides is checked: TypeScript samples are
// type-checked against the package sources, `lorafuse` command lines run
// for real, in document order, in a scratch folder laid out as the guides
// assume (models/base, models/instruct with a chat template, data/*.jsonl,
// examples/; adapters appear as the samples write them; the Hub ids of
// docs/hub.md and docs/real-models.md are served by the fake Hub of
// packages/core/test/hub: small random models of the ids' architectures with
// fixture tokenizers of their kinds, and fixture adapters), and Python
// samples run there too when a Python with PEFT is found.
// A guide whose sample drifts from the API or the command line fails here.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../packages/cli/test/cli-helpers.js';
import { oraclePython } from '../packages/core/test/oracle-python.js';
import { writeByteModel } from '../packages/cli/test/byte-model.js';
import { type FakeHub, startFakeHub } from '../packages/core/test/hub/fake-hub.js';
import { fixtureFiles } from '../packages/core/test/hub/repos.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The quickstarts first: their command lines make the adapters later guides use.
const GUIDES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort((a, b) => Number(!a.startsWith('quickstart')) - Number(!b.startsWith('quickstart')) || a.localeCompare(b))
    .map((f) => `docs/${f}`),
];

interface Sample {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
}

/** Fenced code blocks of a Markdown file, with their language and first line. */
function samples(file: string): Sample[] {
  const found: Sample[] = [];
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    while (++i < lines.length && !lines[i].startsWith('```'));
    found.push({ file, line: start, lang: open[1], code: lines.slice(start, i).join('\n') });
  }
  return found;
}

const all = GUIDES.flatMap(samples);
const byLang = (...langs: string[]) => all.filter((s) => langs.includes(s.lang));
/** Where the command-line and Python samples run. */
const scratch = mkdtempSync(join(tmpdir(), 'lorafuse-docs-'));

/** How a guide invokes the command line: `lorafuse`, `npx lorafuse`, or the built bin with node flags. */
const INVOCATION = /^(?:npx lorafuse|lorafuse|node (?:--\S+ )*packages\/cli\/dist\/bin\.js) /;

/**
 * The command lines of a shell sample, as argv after the invocation:
 * continuations joined, comments dropped, words split and brace lists
 * expanded as a shell would (no other expansions are used).
 */
function commandLines(sample: Sample): string[][] {
  return sample.code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => INVOCATION.test(l))
    .map((l) => (l.replace(INVOCATION, '').match(/"[^"]*"|'[^']*'|\S+/g) ?? []).flatMap(expandBraces).map((w) => w.replace(/^(["'])(.*)\1$/, '$2')));
}

function expandBraces(word: string): string[] {
  const m = /^(.*?)\{([^{}]*,[^{}]*)\}(.*)$/.exec(word);
  return m ? m[2].split(',').flatMap((part) => expandBraces(m[1] + part + m[3])) : [word];
}

describe('guides: TypeScript samples type-check', () => {
  const ts = byLang('ts', 'typescript');
  it(`${ts.length} samples compile against the sources`, () => {
    expect(ts.length).toBeGreaterThan(5);
    const dir = join(ROOT, '.cache/docs-samples');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const names = ts.map((s) => {
      const name = `${s.file.replace(/[^\w]+/g, '_')}_L${s.line}.ts`;
      // `export {}` makes each sample a module, so top-level await is allowed and names don't clash.
      writeFileSync(join(dir, name), `${s.code}\nexport {};\n`);
      return name;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noUnusedLocals: false }, include: names }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    // Map the scratch file names back to the guide and line in the failure message.
    const report = tsc.stdout.replace(
      /(docs_\w+|README_md)_L(\d+)\.ts\((\d+)/g,
      (_, f: string, l: string, row: string) => `${f.replace(/_md$/, '.md').replace(/^docs_/, 'docs/')}:${Number(l) + Number(row) - 1}(`,
    );
    expect(report, 'type errors in guide samples').toBe('');
    expect(tsc.status).toBe(0);
  });
});

/** A small random model with a fixture tokenizer of the kind `tokenizer` (chat template and generation config included). */
async function instructModel(dir: string, tokenizer: string, seed: number, config: Record<string, unknown> = {}): Promise<void> {
  await writeByteModel(dir, seed, undefined, 600, config);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
    copyFileSync(join(ROOT, 'packages/core/test/fixtures/tokenizers', tokenizer, f), join(dir, f));
}

const savedEnv = { ...process.env };
let hub: FakeHub | undefined;
afterAll(async () => {
  process.env = savedEnv;
  await hub?.close();
});

describe('guides: command lines run', () => {
  const lines = byLang('sh', 'bash').flatMap((s) => commandLines(s).map((argv) => ({ sample: s, argv })));
  const home = process.cwd();
  afterAll(() => process.chdir(home));

  it('the scratch folder holds what the guides assume', async () => {
    process.chdir(scratch);
    await writeByteModel('models/base');
    // An instruct model's folder for the --chat samples: the Qwen 2.5-kind fixture tokenizer with its chat template and generation config.
    await instructModel('models/instruct', 'qwen2.5', 11);
    // The real-models guide's instruct models: a Qwen2 with a Qwen 2.5-kind tokenizer, a Llama with a SmolLM2-kind one.
    await instructModel('hub-repos/qwen2.5-instruct', 'qwen2.5', 13, { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' });
    await instructModel('hub-repos/smollm2-instruct', 'smollm2', 17);
    const files = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
    const repo = (main: Record<string, Uint8Array>) => ({ revisions: { main } });
    hub = await startFakeHub({
      'HuggingFaceTB/SmolLM2-135M': repo(files('models/base')),
      'your-org/target-lora': repo(fixtureFiles('lora-qv-r8')),
      'your-org/news-lora': repo(fixtureFiles('lora-default-keys')),
      'Qwen/Qwen2.5-0.5B-Instruct': repo(files('hub-repos/qwen2.5-instruct')),
      'HuggingFaceTB/SmolLM2-135M-Instruct': repo(files('hub-repos/smollm2-instruct')),
      'your-org/qwen2.5-0.5b-target-lora': repo(fixtureFiles('lora-qv-r8')),
      'your-org/qwen2.5-0.5b-news-lora': repo(fixtureFiles('lora-default-keys')),
      'your-org/qwen2.5-0.5b-reviews-lora': repo(fixtureFiles('lora-all7')),
      'your-org/smollm2-135m-news-lora': repo(fixtureFiles('lora-default-keys')),
    });
    Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(scratch, 'hf-cache'), HF_HUB_OFFLINE: '0', HF_TOKEN: '' });
    const pairs = (topic: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ source: `${topic} item ${i}: the ${topic} report number ${i} says things`, summary: `${topic} ${i}` }),
      ).join('\n') + '\n';
    symlinkSync(join(ROOT, 'examples'), 'examples'); // the guides use the repository's example plugin
    mkdirSync('data', { recursive: true });
    for (const [name, n] of [
      ['news', 6],
      ['reviews', 6],
      ['target-train', 4],
      ['target-dev', 2],
      ['target-test', 2],
    ] as const)
      writeFileSync(`data/${name}.jsonl`, pairs(name, n));
    expect(lines.length).toBeGreaterThan(10);
  });

  // Long-running commands are checked for their options only: the demo and
  // the benchmarks have their own tests.
  const heavy = new Set(['demo', 'bench']);
  for (const { sample, argv } of lines) {
    it(`${sample.file}:${sample.line}: lorafuse ${argv.join(' ')}`, async () => {
      const [command] = argv;
      // The README's samples run from the repository root on the fixtures; the guides' in the scratch folder.
      process.chdir(sample.file === 'README.md' ? ROOT : scratch);
      const run = heavy.has(command) ? [command, '--help'] : [...argv, ...(argv.includes('--backend') ? [] : ['--backend', 'wasm'])];
      const { code, out, err } = await cli(...run);
      expect(err + out, `exit ${code}`).not.toMatch(/error/i);
      expect(code).toBe(0);
      if (heavy.has(command)) for (const flag of argv.filter((w) => w.startsWith('--'))) expect(out, `${flag} is documented in --help`).toContain(flag);
    });
  }
});

describe('guides: Python samples run with PEFT', () => {
  const { python, why } = oraclePython();
  const py = byLang('python');
  if (!python) console.warn(`docs-samples: Python samples skipped: ${why}`);
  it.skipIf(!python)(
    `${py.length} samples run on the adapters the command-line samples wrote`,
    () => {
      for (const s of py) {
        const run = spawnSync(python!, ['-c', s.code], { cwd: scratch, encoding: 'utf8', timeout: 240_000 });
        expect(
          run.stderr
            .split('\n')
            .filter((l) => /Error|Traceback/.test(l))
            .join('\n'),
          `${s.file}:${s.line}`,
        ).toBe('');
        expect(run.status).toBe(0);
      }
    },
    300_000,
  );
});
