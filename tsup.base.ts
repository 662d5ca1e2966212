import type { Options } from 'tsup';

/** Shared tsup settings: every package ships ESM + CJS + .d.ts per entry. */
export function packageBuild(entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    ...extra,
  };
}
