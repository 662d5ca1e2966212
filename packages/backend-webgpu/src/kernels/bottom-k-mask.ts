import { bottomKGeometry, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { MAIN_1D, NAN } from './wgsl.js';

/** The order-preserving key of core's `selectionKey`, on the bits: NaN → 0, −0 → +0. */
const KEY = /* wgsl */ `
fn keyOf(bits: u32) -> u32 {
  if (isNanBits(bits)) { return 0u; }
  let b = select(bits, 0u, bits == 0x80000000u);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
`;

// One workgroup per group. Four histogram passes over 8-bit digits of the
// keys (most significant first) find the k-th smallest key and how many of
// its ties are pruned; an in-order scan over blocks of the group then finds
// the index of the last pruned tie. Writes (threshold, last tie index) per group.
const SELECT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<u32>;
@group(0) @binding(1) var<storage, read_write> result: array<u32>;
struct P { groups: u32, n: u32, k: u32 }
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> scan: array<u32, 256>;
var<workgroup> prefix: u32;
var<workgroup> rank: u32;
var<workgroup> running: u32;
${NAN}${KEY}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) { return; }
  if (p.k == 0u) {
    if (lid == 0u) { result[2u * g] = 0u; result[2u * g + 1u] = 0xffffffffu; }
    return;
  }
  let base = g * p.n;
  if (lid == 0u) { prefix = 0u; rank = p.k; running = 0u; }
  var fixed = 0u;
  for (var round = 0u; round < 4u; round = round + 1u) {
    let shift = 24u - 8u * round;
    atomicStore(&histogram[lid], 0u);
    workgroupBarrier();
    let pre = prefix;
    for (var e = lid; e < p.n; e = e + 256u) {
      let key = keyOf(scores[base + e]);
      if ((key & fixed) == pre) { atomicAdd(&histogram[(key >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var r = rank;
      var digit = 0u;
      loop {
        let c = atomicLoad(&histogram[digit]);
        if (r <= c) { break; }
        r = r - c;
        digit = digit + 1u;
      }
      rank = r;
      prefix = prefix | (digit << shift);
    }
    workgroupBarrier();
    fixed = fixed | (255u << shift);
  }
  let threshold = prefix;
  let ties = rank;
  let blocks = (p.n + 1023u) / 1024u;
  for (var blk = 0u; blk < blocks; blk = blk + 1u) {
    let start = blk * 1024u + lid * 4u;
    var count = 0u;
    for (var e = start; e < min(start + 4u, p.n); e = e + 1u) {
      if (keyOf(scores[base + e]) == threshold) { count = count + 1u; }
    }
    scan[lid] = count;
    workgroupBarrier();
    for (var offset = 1u; offset < 256u; offset = offset << 1u) {
      var v = 0u;
      if (lid >= offset) { v = scan[lid - offset]; }
      workgroupBarrier();
      scan[lid] = scan[lid] + v;
      workgroupBarrier();
    }
    let before = running + scan[lid] - count;
    if (before < ties && before + count >= ties) {
      var seen = before;
      for (var e = start; e < min(start + 4u, p.n); e = e + 1u) {
        if (keyOf(scores[base + e]) == threshold) {
          seen = seen + 1u;
          if (seen == ties) { result[2u * g + 1u] = e; }
        }
      }
    }
    workgroupBarrier();
    if (lid == 255u) { running = running + scan[255]; }
    workgroupBarrier();
  }
  if (lid == 0u) { result[2u * g] = threshold; }
}`;

// One thread per u32 word of the u8 mask, so that no two threads share a word.
const MARK = /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<u32>;
@group(0) @binding(1) var<storage, read> result: array<u32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
struct P { total: u32, n: u32 }
@group(0) @binding(3) var<uniform> p: P;
${NAN}${KEY}${MAIN_1D}
  if (i * 4u >= p.total) { return; }
  var w = 0u;
  for (var j = 0u; j < 4u; j = j + 1u) {
    let e = i * 4u + j;
    if (e < p.total) {
      let g = e / p.n;
      let key = keyOf(scores[e]);
      let threshold = result[2u * g];
      let last = bitcast<i32>(result[2u * g + 1u]);
      if (key < threshold || (key == threshold && i32(e - g * p.n) <= last)) { w = w | (1u << (8u * j)); }
    }
  }
  mask[i] = w;
}`;

/** {@link Kernels.bottomKMask}: radix select per group on the GPU, O(n) per group. */
export function bottomKMask(ctx: KernelContext, scores: DeviceTensor, k: number): DeviceTensor {
  const { groups, n } = bottomKGeometry(scores, k);
  const source = ctx.buffer(scores);
  const [out, mask] = ctx.output(scores.shape, 'u8');
  const total = groups * n;
  if (total === 0) return out;
  const result = ctx.scratch(8 * groups);
  ctx.run(SELECT, [source, result], [groups, n, k], groups);
  ctx.run(MARK, [source, result, mask], [total, n], groupsFor(Math.ceil(total / 4)));
  ctx.drop(result);
  return out;
}
