// @lorafuse/demo must run in a browser worker: no Node built-ins, and only
// the portable entry of core (not @lorafuse/core/node).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

it('imports nothing from Node', () => {
  const files = readdirSync(SRC).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) {
    const imports = [...readFileSync(join(SRC, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const specifier of imports) expect(specifier, file).toMatch(/^(\.\/|@lorafuse\/(core|plugins)$)/);
  }
});
