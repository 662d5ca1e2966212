import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

// Sections whose tables describe the bench or restate the figures of the sections they cite, not measurements of their own.
const DESCRIPTIVE = new Set(['## How `lorafuse bench matmul` measures', '## Targets', '### Against the acceptance targets']);

/** `text` cut at `##` and `###` headings: each heading with the lines under it. */
function sections(text: string): { heading: string; lines: string[] }[] {
  const out: { heading: string; lines: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (/^###? /.test(line)) out.push({ heading: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe('results files name the code that made them', () => {
  it('every section of docs/performance.md with a table of figures has a Provenance line naming a commit and the runtime', () => {
    const measured = sections(readFileSync(join(root, 'docs/performance.md'), 'utf8')).filter(
      (s) => !DESCRIPTIVE.has(s.heading) && s.lines.some((l) => l.startsWith('|')),
    );
    expect(measured.length).toBeGreaterThan(10);
    for (const { heading, lines } of measured) {
      const provenance = lines.find((l) => l.startsWith('Provenance:'));
      expect(provenance, `${heading} has no "Provenance:" line`).toBeDefined();
      expect(provenance, heading).toMatch(/`[0-9a-f]{7,40}`/);
      expect(provenance, heading).toMatch(/Node v\d+\.\d+\.\d+, \w+\/\w+/);
    }
  });

  it('the committed quick experiment results carry their provenance', () => {
    const dir = join(root, 'docs/experiments/quick');
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.provenance).toMatchObject({ config: { path: 'experiments/configs/manpages.json' }, backend: 'wasm', simd: 'plain' });
    expect(summary.provenance.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(typeof summary.provenance.dirty).toBe('boolean');
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toMatch(/## Provenance\n\n- Command: `npm run experiment -- --quick [^`]*`/);
  });
});
