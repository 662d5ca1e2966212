import { LoraFuseError, isLoraFuseError } from '../errors/index.js';
import type { Backend, BackendFactory } from './backend.js';

/** What happened to one backend that `auto` tried and did not pick. */
export interface BackendAttempt {
  /** The backend's registry name. */
  readonly name: string;
  /** `failed`: creation threw; `skipped`: it runs on a CPU/fallback device. */
  readonly outcome: 'failed' | 'skipped';
  /** Why, in words. */
  readonly reason: string;
  /** The error code of a failure, when it had one. */
  readonly code?: string;
}

/** A created backend, and the backends `auto` tried and passed over before it (none for a backend asked for by name). */
export interface BackendSelection {
  /** The backend, initialised. */
  readonly backend: Backend;
  /** What happened to each backend tried before it, in the order tried. */
  readonly attempts: readonly BackendAttempt[];
}

/**
 * The backends one runtime can create, by name and priority. Each runtime
 * has its own registry; nothing is registered globally.
 */
export class BackendRegistry {
  readonly #factories = new Map<string, BackendFactory>();

  /** Adds a backend factory; throws `BACKEND_DUPLICATE` for a taken name and `INVALID_OPTION` for a malformed factory. */
  register(factory: BackendFactory): void {
    checkFactory(factory);
    if (this.#factories.has(factory.name)) {
      throw new LoraFuseError('BACKEND_DUPLICATE', `A backend named "${factory.name}" is already registered.`, { details: { name: factory.name } });
    }
    this.#factories.set(factory.name, factory);
  }

  /** True when a backend of that name is registered. */
  has(name: string): boolean {
    return this.#factories.has(name);
  }

  /** Registered names in the order `auto` tries them (priority, then registration order). */
  names(): string[] {
    return this.#ordered().map((f) => f.name);
  }

  /**
   * Creates a backend. With a name: that backend, even on a fallback device
   * (`BACKEND_NOT_FOUND` when unknown, `BACKEND_INIT_FAILED` when it cannot
   * start). With `auto`: the first backend by priority that initialises and
   * is not on a CPU/fallback device; `BACKEND_UNAVAILABLE` when none is,
   * with every attempt in the message and in `details.attempts`.
   */
  async create(name = 'auto'): Promise<Backend> {
    return (await this.select(name)).backend;
  }

  /**
   * Like {@link BackendRegistry.create}, and also says what `auto` passed
   * over on the way, so that a caller can tell its user why it runs on a
   * slower backend than it could (the registry itself prints nothing).
   */
  async select(name = 'auto'): Promise<BackendSelection> {
    return name === 'auto' ? this.#createAuto() : { backend: await this.#createNamed(name), attempts: [] };
  }

  async #createNamed(name: string): Promise<Backend> {
    const factory = this.#factories.get(name);
    if (!factory) {
      const registered = this.names();
      throw new LoraFuseError('BACKEND_NOT_FOUND', `No backend named "${name}"; registered: ${registered.join(', ') || 'none'} (or "auto").`, {
        details: { name, registered },
      });
    }
    try {
      return await factory.create();
    } catch (cause) {
      throw new LoraFuseError('BACKEND_INIT_FAILED', `The ${name} backend failed to initialise: ${reasonOf(cause)}`, {
        details: { name, code: codeOf(cause) },
        cause,
      });
    }
  }

  async #createAuto(): Promise<BackendSelection> {
    const attempts: BackendAttempt[] = [];
    for (const factory of this.#ordered()) {
      let backend: Backend;
      try {
        backend = await factory.create();
      } catch (cause) {
        attempts.push({ name: factory.name, outcome: 'failed', reason: reasonOf(cause), code: codeOf(cause) });
        continue;
      }
      if (!backend.isFallback) return { backend, attempts };
      attempts.push({ name: factory.name, outcome: 'skipped', reason: `runs on a CPU/fallback device (${backend.description}); ask for it by name to use it` });
      await backend.dispose();
    }
    const summary = attempts.map((a) => `${a.name} ${a.outcome}: ${a.reason}`).join('; ');
    throw new LoraFuseError('BACKEND_UNAVAILABLE', `No backend is available. ${summary || 'No backend is registered.'}`, { details: { attempts } });
  }

  #ordered(): BackendFactory[] {
    // Array.prototype.sort is stable, so equal priorities keep registration order.
    return [...this.#factories.values()].sort((a, b) => b.priority - a.priority);
  }
}

function checkFactory(factory: BackendFactory): void {
  const f = factory as Partial<BackendFactory> | null;
  const problem =
    typeof f !== 'object' || f === null
      ? 'a backend factory is an object { name, priority, create }'
      : typeof f.name !== 'string' || f.name === '' || f.name === 'auto'
        ? `name ${JSON.stringify(f.name)} must be a non-empty string other than "auto"`
        : typeof f.priority !== 'number' || !Number.isFinite(f.priority)
          ? `priority of "${f.name}" must be a finite number`
          : typeof f.create !== 'function'
            ? `create of "${f.name}" must be a function returning a Promise<Backend>`
            : undefined;
  if (problem) throw new LoraFuseError('INVALID_OPTION', `Invalid backend factory: ${problem}.`, { details: { problem } });
}

function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function codeOf(cause: unknown): string | undefined {
  return isLoraFuseError(cause) ? cause.code : undefined;
}
