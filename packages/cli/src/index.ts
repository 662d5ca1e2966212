/**
 * The `lorafuse` command line as a function, for embedding and tests.
 * @module \@lorafuse/cli
 */
export { runCli } from './main.js';
export type { CliIO } from './io.js';
