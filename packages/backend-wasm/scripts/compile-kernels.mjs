// Compiles assembly/index.ts with asc in memory. Shared by the build script
// and the test that checks the committed build is current.
import asc from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../assembly/index.ts', import.meta.url));

// No garbage collector (the kernels never allocate), no assertions, one
// initial page, and room to grow to the whole 4 GiB wasm32 address space.
const COMMON = ['--runtime', 'stub', '--noAssert', '-O3', '--initialMemory', '1', '--maximumMemory', '65536'];

// The threaded builds import one shared memory (`env.memory`), so every
// worker's instance works on the same bytes.
const SHARED = ['--importMemory', '--sharedMemory'];

async function compile(features, extra = []) {
  let binary;
  const errors = [];
  const { error } = await asc.main([ENTRY, ...COMMON, ...extra, '--enable', features, '--outFile', 'kernels.wasm'], {
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = contents;
    },
    stderr: { write: (text) => errors.push(String(text)) },
    stdout: { write: () => {} },
  });
  if (error || !binary) throw new Error(`asc (${features}) failed: ${error?.message ?? 'no output'}\n${errors.join('')}`);
  return binary;
}

/** The four builds of the kernels as Uint8Arrays: plain and relaxed SIMD, each with an own memory and with an imported shared one. */
export async function compileKernels() {
  return {
    simd: await compile('simd'),
    relaxed: await compile('simd,relaxed-simd'),
    simdThreads: await compile('simd,threads', SHARED),
    relaxedThreads: await compile('simd,relaxed-simd,threads', SHARED),
  };
}
