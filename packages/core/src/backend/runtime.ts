import { LoraFuseError } from '../errors/index.js';
import { PluginRegistry } from '../plugin/registry.js';
import { referenceBackend } from '../reference/backend.js';
import type { Backend, BackendFactory } from './backend.js';
import { BackendRegistry, type BackendSelection } from './registry.js';

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** Backend factories to register besides the built-in `reference` one (e.g. `wasmBackend()`, `webgpuBackend()`). */
  readonly backends?: readonly BackendFactory[];
  /** A plugin registry to share; by default the runtime gets its own, empty one. */
  readonly plugins?: PluginRegistry;
}

/**
 * One LoRAFuse context: the backends it can create, the active backend and
 * the plugins. Everything hangs off an instance, never off module state, so
 * two copies of the package (ESM and CJS) never disagree and two runtimes in
 * one process stay independent.
 */
export class Runtime {
  /** The backends this runtime can create; `reference` is always registered. */
  readonly backends: BackendRegistry;
  /** The plugins known to this runtime. */
  readonly plugins: PluginRegistry;
  #active: Backend | undefined;

  constructor(options: RuntimeOptions = {}) {
    this.backends = new BackendRegistry();
    this.backends.register(referenceBackend());
    for (const factory of options.backends ?? []) this.backends.register(factory);
    this.plugins = options.plugins ?? new PluginRegistry();
  }

  /** The active backend; throws `BACKEND_NOT_SELECTED` before {@link Runtime.useBackend}. */
  get backend(): Backend {
    if (!this.#active) {
      throw new LoraFuseError('BACKEND_NOT_SELECTED', 'No backend is selected; call `await runtime.useBackend("auto")` (or a backend name) first.');
    }
    return this.#active;
  }

  /**
   * Creates the backend `name` (or the best available one for `auto`, see
   * {@link BackendRegistry.create}), makes it active and disposes the one it
   * replaces. On failure the previous backend stays active.
   */
  async useBackend(name = 'auto'): Promise<Backend> {
    return (await this.selectBackend(name)).backend;
  }

  /**
   * {@link Runtime.useBackend}, returning also the backends `auto` tried and
   * passed over before the one it made active ({@link BackendRegistry.select}).
   */
  async selectBackend(name = 'auto'): Promise<BackendSelection> {
    const selection = await this.backends.select(name);
    const previous = this.#active;
    this.#active = selection.backend;
    if (previous && previous !== selection.backend) await previous.dispose();
    return selection;
  }

  /** Disposes the active backend; `useBackend` may be called again afterwards. */
  async dispose(): Promise<void> {
    const active = this.#active;
    this.#active = undefined;
    await active?.dispose();
  }
}
