// Which V8 versions keep relaxed SIMD behind a flag. That the built command
// really runs the relaxed build is checked on the packed tarball
// (scripts/smoke-pack.mjs), in a process of its own.
import { describe, expect, it } from 'vitest';
import { relaxedSimdNeedsFlag } from '../src/relaxed-simd.js';

describe('relaxedSimdNeedsFlag', () => {
  it('is true before V8 11.4 (Node 20) and false from 11.4 on (Node 22 and later)', () => {
    expect(relaxedSimdNeedsFlag('11.3.244.8-node.19')).toBe(true);
    expect(relaxedSimdNeedsFlag('10.2.154.26-node.26')).toBe(true);
    expect(relaxedSimdNeedsFlag('11.4.183.14')).toBe(false);
    expect(relaxedSimdNeedsFlag('12.4.254.21-node.33')).toBe(false);
    expect(relaxedSimdNeedsFlag('13.6.233.10-node.18')).toBe(false);
  });
});
