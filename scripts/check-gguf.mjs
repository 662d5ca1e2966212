#!/usr/bin/env node
// npm run check:gguf: llama.cpp itself loads the LoRA GGUFs that
// `lorafuse export --format gguf` writes and must give the logits that
// transformers + PEFT give, within 1e-3.
//
// - llama.cpp: the prebuilt CPU binaries that node-llama-cpp ships on npm,
//   installed on first use (npm install, scripts skipped: nothing is built
//   or downloaded beyond the npm packages) into a cache folder outside the
//   clone: $LORAFUSE_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/lorafuse,
//   then /node-llama-cpp-<version>.
// - base models: GGUFs of the golden tiny Llama and Qwen2 written by the
//   `gguf` Python package (scripts/gguf/make_base_gguf.py, q/k rows permuted
//   for Llama as llama.cpp's converter does);
// - reference: transformers + PEFT on the same token ids
//   (scripts/gguf/peft_logits.py), with the oracle Python
//   ($LORAFUSE_PYTHON, else scripts/oracle-python.sh).
//
// llama.cpp runs with f32 KV cache and no flash attention, so that the
// comparison measures the adapter, not llama.cpp's f16 cache. Exits 1 when a
// case is off by more than the tolerance, 3 when something it needs is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'packages/core/test/fixtures');
const NODE_LLAMA_CPP = '3.22.1';
const TOLERANCE = 1e-3;
// Token ids < 64 (the tiny models' vocabulary), 24 positions of the models' 128.
const TOKENS = [1, 17, 42, 5, 63, 0, 29, 8, 8, 50, 3, 61, 12, 12, 40, 7, 33, 2, 58, 19, 26, 9, 44, 1];
/** Each golden base model, bare and with each of its f32 PEFT fixture adapters. */
const ADAPTERS = {
  'llama-tiny': ['lora-qv-r8', 'lora-all7', 'lora-rslora', 'lora-patterns', 'lora-layers', 'lora-regex'],
  'qwen2-tiny': ['lora-qwen2'],
};
const CASES = Object.entries(ADAPTERS).flatMap(([model, adapters]) => [[model, null], ...adapters.map((adapter) => [model, adapter])]);
/** node-llama-cpp's prebuilt CPU package for this machine. */
const PREBUILT = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'darwin-arm64': 'mac-arm64-metal', 'darwin-x64': 'mac-x64', 'win32-x64': 'win-x64' };

function missing(why) {
  console.error(`check:gguf: ${why}`);
  process.exit(3);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.status !== 0) missing(`${command} ${args.slice(0, 2).join(' ')} failed (${result.status ?? result.signal}):\n${result.stderr}`);
  return result.stdout;
}

function oraclePython() {
  let python = process.env.LORAFUSE_PYTHON;
  if (!python) {
    const made = spawnSync('bash', [join(ROOT, 'scripts/oracle-python.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (made.status !== 0)
      missing('no oracle Python (scripts/oracle-python.sh failed); set LORAFUSE_PYTHON to a Python with torch, transformers, peft and gguf.');
    python = made.stdout.trim();
  }
  const probe = spawnSync(python, ['-c', 'import gguf, peft, safetensors, torch, transformers'], { encoding: 'utf8' });
  if (probe.status !== 0) missing(`${python} lacks a package the check needs (gguf, peft, safetensors, torch, transformers): run scripts/oracle-python.sh.`);
  return python;
}

async function nodeLlamaCpp() {
  const prebuilt = PREBUILT[`${process.platform}-${process.arch}`];
  if (!prebuilt) missing(`node-llama-cpp ships no prebuilt binary for ${process.platform}-${process.arch}.`);
  const cache = process.env.LORAFUSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lorafuse');
  const dir = join(cache, `node-llama-cpp-${NODE_LLAMA_CPP}`);
  const entry = join(dir, 'node_modules/node-llama-cpp/dist/index.js');
  if (!existsSync(join(dir, 'node_modules', '@node-llama-cpp', prebuilt, 'package.json')) || !existsSync(entry)) {
    console.error(`check:gguf: installing node-llama-cpp ${NODE_LLAMA_CPP} (${prebuilt}) into ${dir}`);
    mkdirSync(dir, { recursive: true });
    // --ignore-scripts: its postinstall would try to download or build llama.cpp; the prebuilt package already holds it.
    // --omit=optional: of the per-platform packages, only this machine's (named explicitly) is wanted.
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(
      npm,
      [
        'install',
        '--prefix',
        dir,
        '--ignore-scripts',
        '--omit=optional',
        '--no-audit',
        '--no-fund',
        `node-llama-cpp@${NODE_LLAMA_CPP}`,
        `@node-llama-cpp/${prebuilt}@${NODE_LLAMA_CPP}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return import(pathToFileURL(entry).href);
}

/** llama.cpp's logits at every position of TOKENS, for a base GGUF and an optional LoRA GGUF. */
async function llamaCppLogits(llama, modelPath, loraPath) {
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: 64,
    batchSize: 64,
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    ...(loraPath ? { lora: { adapters: [{ filePath: loraPath, scale: 1 }] } } : {}),
  });
  const steps = await context.getSequence().controlledEvaluate(TOKENS.map((t) => [t, { generateNext: { logits: true } }]));
  const rows = steps.map((step) => {
    const row = new Float64Array(step.next.logits.size);
    for (const [token, value] of step.next.logits) row[token] = value;
    return row;
  });
  await context.dispose();
  await model.dispose();
  return rows;
}

const maxAbsDiff = (x, y) => Math.max(...x.map((row, i) => Math.max(...row.map((v, j) => Math.abs(v - y[i][j])))));

const python = oraclePython();
run(process.execPath, [join(ROOT, 'scripts/ensure-built.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
const { getLlama, LlamaLogLevel } = await nodeLlamaCpp();
const work = mkdtempSync(join(tmpdir(), 'lorafuse-check-gguf-'));
try {
  for (const model of new Set(CASES.map(([m]) => m))) {
    run(python, [join(ROOT, 'scripts/gguf/make_base_gguf.py'), join(FIXTURES, model), join(work, `${model}.gguf`)]);
  }
  for (const [model, adapter] of CASES.filter(([, a]) => a)) {
    const out = join(work, `${adapter}.gguf`);
    run(process.execPath, [
      join(ROOT, 'packages/cli/dist/bin.js'),
      'export',
      join(FIXTURES, adapter),
      '--model',
      join(FIXTURES, model),
      '--out',
      out,
      '--quiet',
    ]);
  }
  const jobs = CASES.map(([model, adapter]) => (adapter ? `${join(FIXTURES, model)}:${join(FIXTURES, adapter)}` : join(FIXTURES, model)));
  const reference = JSON.parse(run(python, [join(ROOT, 'scripts/gguf/peft_logits.py'), TOKENS.join(','), ...jobs]));

  const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false });
  let failed = 0;
  console.log(`llama.cpp (node-llama-cpp ${NODE_LLAMA_CPP}, CPU) against transformers + PEFT, ${TOKENS.length} positions, tolerance ${TOLERANCE}`);
  console.log('model       adapter         max |llama.cpp - PEFT|   max |adapter effect|');
  for (const [i, [model, adapter]] of CASES.entries()) {
    const ours = await llamaCppLogits(llama, join(work, `${model}.gguf`), adapter && join(work, `${adapter}.gguf`));
    const theirs = reference[jobs[i]];
    const diff = maxAbsDiff(ours, theirs);
    // How far the adapter moves PEFT's logits: a check of an adapter that changed nothing would prove nothing.
    const effect = adapter ? maxAbsDiff(theirs, reference[join(FIXTURES, model)]) : 0;
    const ok = diff <= TOLERANCE && (!adapter || effect > 100 * TOLERANCE);
    if (!ok) failed++;
    console.log(
      `${model.padEnd(11)} ${(adapter ?? '(none)').padEnd(15)} ${diff.toExponential(2).padStart(22)}   ${adapter ? effect.toFixed(3).padStart(20) : ''.padStart(20)}${ok ? '' : '   FAIL'}`,
    );
  }
  await llama.dispose();
  if (failed) {
    console.error(`check:gguf: ${failed} case(s) failed`);
    process.exitCode = 1;
  } else {
    console.log('check:gguf: every case within tolerance');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
