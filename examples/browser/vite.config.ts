import { defineConfig } from 'vite';

// Cross-origin isolation lets the wasm backend use threads (SharedArrayBuffer);
// production hosting must send the same two headers.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { headers: isolation },
  preview: { headers: isolation },
});
