// A third-party importance metric for the LoRAFuse pruner: row-normalised
// magnitude, I(θ_ij) = |θ_ij| / ‖θ_i‖₂ (0 for an all-zero row). Each entry is
// scored by its share of its row (a rank component of A, an output of B), so
// rows with small weights are not emptied before rows with large ones.
import { Tensor, PLUGIN_API_VERSION } from '@lorafuse/core';

/**
 * Scores a `[rows, cols]` factor on the backend; only the `rows`-long vector
 * of norms goes through the host, because the kernel contract has no sqrt.
 * @param {import('@lorafuse/core').Backend} backend
 * @param {import('@lorafuse/core').DeviceTensor} factor
 * @returns {Promise<import('@lorafuse/core').DeviceTensor>}
 */
async function rowNormalisedMagnitude(backend, factor) {
  const k = backend.kernels;
  /** @type {import('@lorafuse/core').DeviceTensor[]} */
  const temporaries = [];
  /** @param {import('@lorafuse/core').DeviceTensor} t */
  const temporary = (t) => {
    temporaries.push(t);
    return t;
  };
  try {
    // mul broadcasts over leading dimensions only, so work on the transpose [cols, rows].
    const transposed = temporary(k.permute(factor, [1, 0]));
    const squares = /** @type {Float32Array} */ ((await backend.read(temporary(k.columnSumSquares(transposed)))).data);
    const inverse = temporary(
      backend.upload(
        new Tensor(
          'f32',
          [squares.length],
          Float32Array.from(squares, (s) => (s > 0 ? 1 / Math.sqrt(s) : 0)),
        ),
      ),
    );
    return k.permute(temporary(k.mul(temporary(k.abs(transposed)), inverse)), [1, 0]);
  } finally {
    for (const t of temporaries) backend.free(t);
  }
}

/** @type {import('@lorafuse/core').ImportancePlugin} */
export const rowMagnitudeMetric = Object.freeze({
  name: 'example/row-magnitude',
  kind: 'importance',
  apiVersion: PLUGIN_API_VERSION,
  description: '|θ_ij| / ‖θ_i‖₂: each entry’s magnitude relative to the L2 norm of its row',
  /** @param {import('@lorafuse/core').ImportanceContext} context */
  async score({ backend, module }) {
    return { a: await rowNormalisedMagnitude(backend, module.a), b: await rowNormalisedMagnitude(backend, module.b) };
  },
});
