import { createRequire } from 'node:module';

/** Versions of the CLI and core packages as installed next to this module. */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const read = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return { '@lorafuse/core': read('@lorafuse/core'), '@lorafuse/cli': read('@lorafuse/cli') };
}
