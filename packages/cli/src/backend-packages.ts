import { BACKEND_PRIORITIES, LoraFuseError, type BackendFactory } from '@lorafuse/core';

/** A backend that ships in packages of its own, which the CLI imports at run time. */
export interface BackendPackage {
  /** The backend's registry name. */
  readonly name: 'webgpu' | 'wasm';
  /** The package that exports the factory, then the packages it needs at run time: what `npm install` needs. */
  readonly packages: readonly [string, ...string[]];
  /** The factory's export name. */
  readonly factory: string;
}

/**
 * The backend packages, in `auto`'s order. `@lorafuse/backend-wasm` is a
 * dependency of the CLI; WebGPU is opt-in, because Dawn (npm `webgpu`) is a
 * large native package. The specifiers are data so that bundlers leave them
 * as run-time imports.
 */
export const BACKEND_PACKAGES: readonly BackendPackage[] = [
  { name: 'webgpu', packages: ['@lorafuse/backend-webgpu', 'webgpu'], factory: 'webgpuBackend' },
  { name: 'wasm', packages: ['@lorafuse/backend-wasm'], factory: 'wasmBackend' },
];

/** Imports a module by specifier; a parameter so that tests can stand in for an install without a package. */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

/** Node's own `import()`. */
export const importModule: ModuleImporter = (specifier) => import(/* @vite-ignore */ specifier);

/** Makes a backend factory from its options (`wasmBackend`, `webgpuBackend`). */
export type FactoryMaker = (options?: object) => BackendFactory;

/**
 * Imports every package `backend` needs and returns its factory maker.
 * Throws `BACKEND_NOT_INSTALLED`, with the `npm install` line, when one of
 * them cannot be imported.
 */
export async function importBackendPackage(backend: BackendPackage, load: ModuleImporter = importModule): Promise<FactoryMaker> {
  const modules: Record<string, unknown>[] = [];
  for (const specifier of backend.packages) {
    try {
      modules.push(await load(specifier));
    } catch (cause) {
      throw new LoraFuseError(
        'BACKEND_NOT_INSTALLED',
        `The ${backend.name} backend is not installed (${specifier} cannot be imported): run \`npm install ${backend.packages.join(' ')}\`.`,
        { details: { backend: backend.name, package: specifier, install: `npm install ${backend.packages.join(' ')}` }, cause },
      );
    }
  }
  return modules[0][backend.factory] as FactoryMaker;
}

/**
 * The registry entry of a backend whose packages cannot be imported: it
 * keeps the backend's name and place in `auto`'s order, and fails to create
 * with the import's error, so that `auto` lists it among what it tried and a
 * request by name says what to install.
 */
export function notInstalledBackend(backend: BackendPackage, error: LoraFuseError): BackendFactory {
  return { name: backend.name, priority: BACKEND_PRIORITIES[backend.name], create: () => Promise.reject(error) };
}
