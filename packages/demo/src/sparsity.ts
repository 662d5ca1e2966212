import type { LoraAdapter } from '@lorafuse/core';

/** Share of an adapter's factor entries (every A and B) that are exactly zero; 0 for an adapter without entries. */
export function adapterSparsity(adapter: LoraAdapter): number {
  let zeros = 0;
  let size = 0;
  for (const m of adapter.modules) {
    for (const t of [m.a, m.b]) {
      const v = t.toFloat32();
      size += v.length;
      for (const x of v) if (x === 0) zeros++;
    }
  }
  return size === 0 ? 0 : zeros / size;
}
