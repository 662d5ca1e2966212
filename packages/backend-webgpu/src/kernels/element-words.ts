import type { DeviceDType } from '@lorafuse/core';
import { MAIN_1D } from './wgsl.js';

/** Bytes of one element of each dtype. */
export const ELEMENT_BYTES: Readonly<Record<DeviceDType, 1 | 2 | 4>> = { f32: 4, i32: 4, f16: 2, bf16: 2, u8: 1 };

/**
 * A data-moving kernel for any dtype: one thread per output u32 word,
 * assembling its 1, 2 or 4 elements, so that sub-word dtypes are written
 * without races. `inputs` are bound first as `array<u32>`, then the output
 * `y`, then the uniforms `P { n, <fields> }` (`n` the output's element
 * count, `fields` three more u32). `value` is the body of
 * `fn value(o: u32) -> u32`, the bits of output element `o`; it reads element
 * `s` of an input with the expression `element(name)` returns.
 */
export function elementWordsShader(
  elementBytes: 1 | 2 | 4,
  inputs: readonly string[],
  fields: string,
  value: (element: (buffer: string) => string) => string,
): string {
  const perWord = 4 / elementBytes;
  const bits = elementBytes * 8;
  const mask = (2 ** bits - 1).toString();
  const element = (buffer: string) => (elementBytes === 4 ? `${buffer}[s]` : `(${buffer}[s / ${perWord}u] >> ((s % ${perWord}u) * ${bits}u)) & ${mask}u`);
  const bindings = inputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<u32>;`);
  return `${bindings.join('\n')}
@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<u32>;
struct P { n: u32, ${fields} }
@group(0) @binding(${inputs.length + 1}) var<uniform> p: P;
fn value(o: u32) -> u32 {
${value(element)}
}
${MAIN_1D}
  if (i * ${perWord}u >= p.n) { return; }
  var w = 0u;
  for (var j = 0u; j < ${perWord}u; j = j + 1u) {
    let o = i * ${perWord}u + j;
    if (o < p.n) { w = w | (value(o) << (j * ${bits}u)); }
  }
  y[i] = w;
}`;
}
