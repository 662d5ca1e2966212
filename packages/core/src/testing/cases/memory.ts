import type { Backend } from '../../backend/backend.js';
import { Tensor, storageBytes } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { expectCode } from '../case.js';
import { ConformanceMismatch, compareTensors } from '../compare.js';
import { InputRandom } from '../input-random.js';

function memoryCase(name: string, run: ConformanceCase['run']): ConformanceCase {
  return { name: `memory/${name}`, kernel: 'memory', large: false, run };
}

/** One tensor of every device dtype, with awkward values (NaN payloads, -0, subnormals, extremes). */
function everyDtype(rng: InputRandom): Tensor[] {
  const n = 67;
  return [
    new Tensor('f32', [n], rng.bitPatterns(n)),
    new Tensor(
      'f16',
      [n],
      Uint16Array.from({ length: n }, () => rng.u32() & 0xffff),
    ),
    new Tensor(
      'bf16',
      [n],
      Uint16Array.from({ length: n }, () => rng.u32() & 0xffff),
    ),
    new Tensor(
      'i32',
      [n],
      Int32Array.from({ length: n }, () => rng.u32() | 0),
    ),
    new Tensor(
      'u8',
      [n],
      Uint8Array.from({ length: n }, () => rng.u32() & 0xff),
    ),
    new Tensor('f32', [3, 0, 2]),
  ];
}

const sameBytes = (a: Tensor, b: Tensor) => {
  const x = storageBytes(a.data);
  const y = storageBytes(b.data);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Cases of the memory contract: upload/read, ownership, free and dispose. */
export function memoryCases(): ConformanceCase[] {
  return [
    memoryCase('upload and read back every dtype bit for bit', async (backend) => {
      for (const t of everyDtype(new InputRandom('memory/roundtrip'))) {
        const h = backend.upload(t);
        try {
          if (h.dtype !== t.dtype || h.size !== t.size || h.shape.join() !== t.shape.join()) {
            throw new ConformanceMismatch(`handle of a ${t.dtype} [${t.shape}] upload says ${h.dtype} [${h.shape}]`);
          }
          const back = await backend.read(h);
          if (back.dtype !== t.dtype || !sameBytes(back, t)) throw new ConformanceMismatch(`${t.dtype} [${t.shape}] did not read back bit for bit`);
        } finally {
          backend.free(h);
        }
      }
    }),
    memoryCase('upload copies the host data', async (backend) => {
      const host = Tensor.f32([4], [1, 2, 3, 4]);
      const h = backend.upload(host);
      host.data[0] = 99;
      try {
        compareTensors(await backend.read(h), Tensor.f32([4], [1, 2, 3, 4]), 0, 'memory/upload copies');
      } finally {
        backend.free(h);
      }
    }),
    memoryCase('read captures the value when called, before the tensor is freed and its memory reused', async (backend) => {
      const x = backend.upload(
        Tensor.f32(
          [256],
          Float32Array.from({ length: 256 }, (_, i) => i + 0.5),
        ),
      );
      const y = backend.kernels.scale(x, 2);
      const pending = backend.read(y);
      // The trainer frees a loss right after asking for it; new work may land in the freed memory.
      backend.free(y);
      const reuse = [0, 1, 2].map(() => backend.kernels.scale(x, -1));
      try {
        compareTensors(
          await pending,
          Tensor.f32(
            [256],
            Float32Array.from({ length: 256 }, (_, i) => 2 * i + 1),
          ),
          0,
          'memory/read then free',
        );
      } finally {
        for (const t of [x, ...reuse]) backend.free(t);
      }
    }),
    memoryCase('memory() counts live tensors and bytes', async (backend) => {
      const before = backend.memory();
      const h = backend.upload(new Tensor('f32', [1000]));
      const during = backend.memory();
      backend.free(h);
      const after = backend.memory();
      if (during.tensors !== before.tensors + 1 || during.bytes < before.bytes + 4000) {
        throw new ConformanceMismatch(`after a 4000-byte upload memory() went from ${JSON.stringify(before)} to ${JSON.stringify(during)}`);
      }
      if (after.tensors !== before.tensors) throw new ConformanceMismatch(`free did not release the tensor: ${JSON.stringify(after)}`);
    }),
    memoryCase('unsupported dtypes are refused', async (backend) => {
      await expectCode('UNSUPPORTED_DTYPE', 'upload of i64', () => backend.upload(new Tensor('i64', [2])));
    }),
    memoryCase('a freed tensor is dead', async (backend) => {
      const h = backend.upload(Tensor.f32([3], [1, 2, 3]));
      backend.free(h);
      await expectCode('TENSOR_DISPOSED', 'read after free', () => backend.read(h));
      await expectCode('TENSOR_DISPOSED', 'kernel on a freed tensor', () => backend.kernels.scale(h, 2));
      await expectCode('TENSOR_DISPOSED', 'second free', () => backend.free(h));
    }),
    memoryCase("another backend's tensor is refused", async (backend, reference) => {
      if (backend === reference) return;
      const foreign = reference.upload(Tensor.f32([3], [1, 2, 3]));
      try {
        await expectCode('TENSOR_DISPOSED', 'read of a foreign tensor', () => backend.read(foreign));
        await expectCode('TENSOR_DISPOSED', 'kernel on a foreign tensor', () => backend.kernels.scale(foreign, 2));
      } finally {
        reference.free(foreign);
      }
    }),
    memoryCase('a disposed backend refuses every call', async (_backend, _reference, fresh) => {
      const other: Backend = await fresh();
      const h = other.upload(Tensor.f32([2], [1, 2]));
      await other.dispose();
      await other.dispose();
      if (!other.disposed) throw new ConformanceMismatch('disposed is false after dispose()');
      await expectCode('BACKEND_DISPOSED', 'upload after dispose', () => other.upload(Tensor.f32([1], [1])));
      await expectCode('BACKEND_DISPOSED', 'read after dispose', () => other.read(h));
      await expectCode('BACKEND_DISPOSED', 'kernel after dispose', () => other.kernels.scale(h, 2));
      await expectCode('BACKEND_DISPOSED', 'free after dispose', () => other.free(h));
    }),
  ];
}
