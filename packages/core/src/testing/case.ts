import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type {
  AttentionGrads,
  AttentionResult,
  CrossEntropyResult,
  KernelName,
  Kernels,
  LoraImportanceResult,
  RmsNormGrads,
  SwigluGrads,
} from '../backend/kernels.js';
import { isLoraFuseError, type ErrorCode } from '../errors/index.js';
import type { Tensor } from '../tensor/index.js';
import { ConformanceMismatch, compareTensors } from './compare.js';
import { InputRandom } from './input-random.js';
import { CONFORMANCE_TOLERANCES } from './tolerances.js';

/** What a conformance case exercises: a kernel, or `memory` for upload/read/free/dispose. */
export type ConformanceTarget = KernelName | 'memory';

/** One check of a backend against the reference. */
export interface ConformanceCase {
  /** `<kernel>/<what>`, unique. */
  readonly name: string;
  readonly kernel: ConformanceTarget;
  /** True for the cases with ≥ 10⁶ elements (or as much work); the runner schedules them last. */
  readonly large: boolean;
  /**
   * Runs the case; throws on a mismatch. Frees every tensor it creates on
   * both backends. `fresh` creates another instance of the backend under
   * test, for the cases that must dispose one.
   */
  run(backend: Backend, reference: Backend, fresh: () => Promise<Backend>): Promise<void>;
}

/** What a kernel call returns, as the cases see it (in-place calls return the tensors they changed). */
type Outputs =
  | DeviceTensor
  | readonly DeviceTensor[]
  | SwigluGrads
  | RmsNormGrads
  | AttentionResult
  | AttentionGrads
  | CrossEntropyResult
  | LoraImportanceResult
  // biome-ignore lint/suspicious/noConfusingVoidType: in-place kernels (adamwStep, maskApply) return void.
  | void;

/** A case that runs one call on both backends and compares every output. */
export interface KernelCaseSpec {
  readonly kernel: KernelName;
  /** Describes the inputs; the case's name is `<kernel>/<name>`. */
  readonly name: string;
  readonly large?: boolean;
  /** Host inputs, from the case's own seeded generator; may use the reference to derive some (forward results for a backward case). */
  readonly inputs: (rng: InputRandom, reference: Backend) => Tensor[] | Promise<Tensor[]>;
  /** The call; in-place kernels return the inputs they changed. */
  readonly call: (kernels: Kernels, inputs: readonly DeviceTensor[]) => Outputs;
  /**
   * The outputs, in the order the call returns them, computed by the case
   * itself in float64 from the host inputs: the backend is then compared
   * with these rather than with the reference backend, so that the
   * reference's own kernel is checked as well.
   */
  readonly expected?: (inputs: readonly Tensor[]) => Tensor[];
}

function isHandle(value: unknown): value is DeviceTensor {
  return typeof value === 'object' && value !== null && 'shape' in value && 'dtype' in value && 'backend' in value;
}

function labelled(outputs: Outputs): [string, DeviceTensor][] {
  if (outputs === undefined) return [];
  if (isHandle(outputs)) return [['output', outputs]];
  if (Array.isArray(outputs)) return outputs.map((t, i) => [`output ${i}`, t]);
  return Object.entries(outputs as unknown as Record<string, DeviceTensor>);
}

/** Frees every handle it was given, once, even when a case fails half-way. */
class HandleScope {
  readonly #handles = new Set<DeviceTensor>();
  constructor(private readonly backend: Backend) {}

  track<T extends DeviceTensor>(handle: T): T {
    this.#handles.add(handle);
    return handle;
  }

  freeAll(): void {
    for (const h of this.#handles) this.backend.free(h);
    this.#handles.clear();
  }
}

async function evaluate(backend: Backend, spec: KernelCaseSpec, inputs: readonly Tensor[]): Promise<[string, Tensor][]> {
  const scope = new HandleScope(backend);
  try {
    const handles = inputs.map((t) => scope.track(backend.upload(t)));
    const outputs = labelled(spec.call(backend.kernels, handles)).map(([label, h]) => [label, scope.track(h)] as const);
    return await Promise.all(outputs.map(async ([label, h]) => [label, await backend.read(h)] as [string, Tensor]));
  } finally {
    scope.freeAll();
  }
}

/** A case comparing one kernel call on the backend against the reference, with the kernel's tolerance. */
export function kernelCase(spec: KernelCaseSpec): ConformanceCase {
  const name = `${spec.kernel}/${spec.name}`;
  return {
    name,
    kernel: spec.kernel,
    large: spec.large ?? false,
    async run(backend, reference) {
      const inputs = await spec.inputs(new InputRandom(name), reference);
      const expected = spec.expected ? spec.expected(inputs) : (await evaluate(reference, spec, inputs)).map(([, t]) => t);
      const actual = await evaluate(backend, spec, inputs);
      if (actual.length !== expected.length) throw new ConformanceMismatch(`${name}: ${actual.length} outputs, the reference gives ${expected.length}.`);
      actual.forEach(([label, a], i) => {
        compareTensors(a, expected[i], CONFORMANCE_TOLERANCES[spec.kernel], `${name}: ${label}`);
      });
    },
  };
}

/** Runs `fn` and throws unless it fails with a LoraFuseError of `code`. */
export async function expectCode(code: ErrorCode, what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isLoraFuseError(e, code)) return;
    throw new ConformanceMismatch(`${what}: expected error ${code}, got ${isLoraFuseError(e) ? e.code : String(e)}.`);
  }
  throw new ConformanceMismatch(`${what}: expected error ${code}, but it succeeded.`);
}

/** A case checking that a bad call is rejected with the contract's error code, before any output exists. */
export function rejectionCase(spec: Omit<KernelCaseSpec, 'large'> & { readonly code: ErrorCode }): ConformanceCase {
  const name = `${spec.kernel}/rejects ${spec.name}`;
  return {
    name,
    kernel: spec.kernel,
    large: false,
    async run(backend, reference) {
      const inputs = await spec.inputs(new InputRandom(name), reference);
      const scope = new HandleScope(backend);
      try {
        const handles = inputs.map((t) => scope.track(backend.upload(t)));
        await expectCode(spec.code, name, () => {
          labelled(spec.call(backend.kernels, handles)).forEach(([, h]) => {
            scope.track(h);
          });
        });
      } finally {
        scope.freeAll();
      }
    },
  };
}
