import { wasmFeatures } from '@lorafuse/backend-wasm';
import { assert, check, runEntry } from './report.js';

// The harness serves pages with COOP/COEP headers, so they are cross-origin
// isolated, and drives a current Chromium, which ships relaxed SIMD.
await runEntry('wasm-features', async () => {
  await check('the page is cross-origin isolated (COOP/COEP headers)', () => {
    assert(crossOriginIsolated, 'crossOriginIsolated is false: the server did not send COOP same-origin and COEP require-corp');
  });
  const features = wasmFeatures();
  await check('wasmFeatures() detects SIMD, relaxed SIMD and threads in Chromium', () => {
    assert(features.simd && features.relaxedSimd && features.threads, `got ${JSON.stringify(features)}`);
  });
});
