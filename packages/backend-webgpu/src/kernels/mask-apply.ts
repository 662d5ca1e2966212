import { maskApplyGeometry, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { MAIN_1D } from './wgsl.js';

function maskShader(reset: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> param: array<u32>;
@group(0) @binding(1) var<storage, read> mask: array<u32>;
${reset ? '@group(0) @binding(2) var<storage, read> init: array<u32>;' : ''}
struct P { n: u32 }
@group(0) @binding(${reset ? 3 : 2}) var<uniform> p: P;
${MAIN_1D}
  if (i >= p.n) { return; }
  if (((mask[i / 4u] >> ((i % 4u) * 8u)) & 255u) != 0u) { param[i] = ${reset ? 'init[i]' : '0u'}; }
}`;
}

const ZERO = maskShader(false);
const RESET = maskShader(true);

/** {@link Kernels.maskApply}, in place, copying bits so that the kept and reset entries stay bit-exact. */
export function maskApply(ctx: KernelContext, param: DeviceTensor, mask: DeviceTensor, init?: DeviceTensor): void {
  const size = maskApplyGeometry(param, mask, init);
  const buffers = [param, mask, ...(init ? [init] : [])].map((t) => ctx.buffer(t));
  ctx.run(init ? RESET : ZERO, buffers, [size], groupsFor(size));
}
