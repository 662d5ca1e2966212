import { runCli } from './main.js';
import { enableRelaxedSimd } from './relaxed-simd.js';

enableRelaxedSimd();
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
