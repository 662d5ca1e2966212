/**
 * `@lorafuse/core/testing`: the conformance suite every backend runs
 * against the reference backend, usable from any test runner or a plain page.
 * @module \@lorafuse/core/testing
 */
export { expectCode, kernelCase, rejectionCase, type ConformanceCase, type ConformanceTarget, type KernelCaseSpec } from './case.js';
export { conformanceCases } from './cases/index.js';
export { ConformanceMismatch, compareTensors, relativeL2Error } from './compare.js';
export { InputRandom } from './input-random.js';
export { formatConformanceReport, runConformance, type ConformanceCaseResult, type ConformanceOptions, type ConformanceReport } from './runner.js';
export { CONFORMANCE_TOLERANCES } from './tolerances.js';
