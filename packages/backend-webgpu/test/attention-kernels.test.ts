// The attention kernels read rows as vec4 when the head dimension is a
// multiple of 4 and as f32 otherwise; the conformance suite's cases are
// mostly the former, so these check the scalar path (odd D, GQA, Sq < Sk,
// explicit scale) against float64 attention written out here.
import { afterAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_TOLERANCES, InputRandom, relativeL2Error } from '@lorafuse/core/testing';
import { Tensor } from '@lorafuse/core';
import { webgpuBackend } from '../src/webgpu-backend.js';
import { acquireDawnDevice } from './acquire-device.js';

const handle = await acquireDawnDevice('WebGPU attention kernels');
afterAll(() => handle?.device.destroy());

interface Shape {
  readonly b: number;
  readonly h: number;
  readonly kv: number;
  readonly sq: number;
  readonly sk: number;
  readonly d: number;
}

/** Float64 causal GQA attention and its gradients, straight from the definitions. */
function reference(s: Shape, scale: number, q: Float32Array, k: Float32Array, v: Float32Array, dOut: Float32Array) {
  const { b, h, kv, sq, sk, d } = s;
  const out = new Float64Array(q.length);
  const lse = new Float64Array(b * h * sq);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const kvo = (bi * kv + Math.floor(hi / (h / kv))) * sk * d;
      for (let i = 0; i < sq; i++) {
        const row = (bi * h + hi) * sq + i;
        const qo = row * d;
        const n = i + sk - sq + 1;
        const scores = Array.from({ length: n }, (_, j) => {
          let dot = 0;
          for (let x = 0; x < d; x++) dot += q[qo + x] * k[kvo + j * d + x];
          return scale * dot;
        });
        const max = Math.max(...scores);
        const l = max + Math.log(scores.reduce((acc, sc) => acc + Math.exp(sc - max), 0));
        lse[row] = l;
        const prob = scores.map((sc) => Math.exp(sc - l));
        for (let j = 0; j < n; j++) for (let x = 0; x < d; x++) out[qo + x] += prob[j] * v[kvo + j * d + x];
        let delta = 0;
        for (let x = 0; x < d; x++) delta += dOut[qo + x] * out[qo + x];
        for (let j = 0; j < n; j++) {
          let dp = 0;
          for (let x = 0; x < d; x++) dp += dOut[qo + x] * v[kvo + j * d + x];
          const ds = prob[j] * (dp - delta);
          for (let x = 0; x < d; x++) {
            dq[qo + x] += scale * ds * k[kvo + j * d + x];
            dk[kvo + j * d + x] += scale * ds * q[qo + x];
            dv[kvo + j * d + x] += prob[j] * dOut[qo + x];
          }
        }
      }
    }
  }
  return { out, lse, dq, dk, dv };
}

const SHAPES: readonly (Shape & { readonly scale?: number })[] = [
  { b: 2, h: 4, kv: 2, sq: 13, sk: 13, d: 3 },
  { b: 1, h: 6, kv: 2, sq: 5, sk: 11, d: 7, scale: 0.45 },
  { b: 1, h: 3, kv: 1, sq: 40, sk: 40, d: 5 },
];

describe.skipIf(!handle)('WebGPU attention, head dimension not a multiple of 4', () => {
  for (const s of SHAPES) {
    it(`B${s.b} H${s.h} KV${s.kv} Sq${s.sq} Sk${s.sk} D${s.d}${s.scale ? ` scale ${s.scale}` : ''}`, async () => {
      const backend = await webgpuBackend({ handle }).create();
      const rng = new InputRandom(`attention-${s.d}`);
      const host = {
        q: rng.normals(s.b * s.h * s.sq * s.d, 1),
        k: rng.normals(s.b * s.kv * s.sk * s.d, 1),
        v: rng.normals(s.b * s.kv * s.sk * s.d, 1),
        dOut: rng.normals(s.b * s.h * s.sq * s.d, 1),
      };
      const up = (data: Float32Array, shape: number[]) => backend.upload(new Tensor('f32', shape, data));
      const q = up(host.q, [s.b, s.h, s.sq, s.d]);
      const k = up(host.k, [s.b, s.kv, s.sk, s.d]);
      const v = up(host.v, [s.b, s.kv, s.sk, s.d]);
      const dOut = up(host.dOut, [s.b, s.h, s.sq, s.d]);
      const options = s.scale === undefined ? {} : { scale: s.scale };
      const { out, lse } = backend.kernels.attention(q, k, v, options);
      const grads = backend.kernels.attentionBackward(q, k, v, out, lse, dOut, options);
      const want = reference(s, s.scale ?? 1 / Math.sqrt(s.d), host.q, host.k, host.v, host.dOut);
      const got = { out, lse, ...grads };
      for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
        const tolerance = name === 'out' || name === 'lse' ? CONFORMANCE_TOLERANCES.attention : CONFORMANCE_TOLERANCES.attentionBackward;
        const data = (await backend.read(got[name])).data as Float32Array;
        expect(relativeL2Error(data, want[name]), name).toBeLessThanOrEqual(tolerance);
      }
      await backend.dispose();
    });
  }
});
