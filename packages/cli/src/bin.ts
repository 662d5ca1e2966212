import { guardDrain } from './drain-guard.js';
import { exitWhenFlushed } from './exit.js';
import { runCli } from './main.js';
import { enableRelaxedSimd } from './relaxed-simd.js';

enableRelaxedSimd();
void guardDrain(runCli(process.argv.slice(2))).then(exitWhenFlushed);
