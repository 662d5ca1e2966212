import type { LoraAdapter, LoraModule } from '../adapter/index.js';
import { LoraFuseError } from '../errors/index.js';
import type { MajoritySignMethod, MergeOptions } from './types.js';

/** One module as every adapter holds it. */
export interface ModuleGroup {
  /** The module path. */
  readonly name: string;
  /** Rows of the module's ΔW (`out`). */
  readonly rows: number;
  /** Columns of the module's ΔW (`in`). */
  readonly cols: number;
  /** The module in each adapter that has it, in adapter order. */
  readonly members: readonly LoraModule[];
  /** The index of each member's adapter (every adapter, `0…n−1`, unless the merge takes the union of modules). */
  readonly owners: readonly number[];
}

/** What {@link checkMergeInputs} requires of the options and adapters, beyond the common checks. */
export interface MergeRequirements {
  /** The method prunes: `density` must be given, in [0, 1]. */
  readonly density?: boolean;
  /** The method combines factors entry by entry: every adapter must have the same rank in each module. */
  readonly equalRanks?: boolean;
  /**
   * The method merges the union of the adapters' modules, a module that an
   * adapter lacks taking nothing from it (PEFT's `cat` does so); otherwise
   * every adapter must have the same modules.
   */
  readonly unionModules?: boolean;
}

/** Validated merge inputs: the weights (defaulted) and the modules, grouped across adapters. */
export interface MergeInputs {
  /** One finite weight per adapter. */
  readonly weights: readonly number[];
  /** The density, when the method prunes. */
  readonly density: number;
  /** The TIES sign election. */
  readonly majoritySignMethod: MajoritySignMethod;
  /** The modules, in the first adapter's order (then those only later adapters have, in their order). */
  readonly modules: readonly ModuleGroup[];
}

const incompatible = (message: string, details: Record<string, unknown>) => new LoraFuseError('MERGE_INCOMPATIBLE', message, { details });
const invalid = (message: string, details: Record<string, unknown>) => new LoraFuseError('INVALID_OPTION', message, { details });

/**
 * Checks that `adapters` can be merged under `options` and groups their
 * modules. Throws `MERGE_INCOMPATIBLE` when the adapters target different
 * modules (unless `unionModules`), a module's `in`/`out` differ, or (with `equalRanks`) its ranks
 * differ; `INVALID_OPTION` for no adapters, a weight count that is not one
 * per adapter, a non-finite weight, a density outside [0, 1] (or missing
 * when `density` is required), a seed that is not a u32, or an unknown
 * majority-sign method.
 */
export function checkMergeInputs(adapters: readonly LoraAdapter[], options: MergeOptions, requires: MergeRequirements = {}): MergeInputs {
  if (adapters.length === 0) throw invalid('Merging needs at least one adapter.', {});
  const weights = options.weights ?? adapters.map(() => 1);
  if (weights.length !== adapters.length) {
    throw invalid(`Merging ${adapters.length} adapters needs ${adapters.length} weights, one per adapter; got ${weights.length}.`, { weights: [...weights] });
  }
  const bad = weights.findIndex((w) => typeof w !== 'number' || !Number.isFinite(w));
  if (bad >= 0) throw invalid(`Weight ${bad + 1} is ${weights[bad]}; weights must be finite numbers.`, { weights: [...weights] });
  const density = options.density;
  if (density !== undefined && !(typeof density === 'number' && density >= 0 && density <= 1)) {
    throw invalid(`density is ${density}; it is the fraction of entries kept, a number in [0, 1].`, { density });
  }
  if (requires.density && density === undefined) throw invalid('This merge method prunes: give a density in [0, 1] (the fraction of entries kept).', {});
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalid(`seed is ${seed}; it must be an integer in [0, 2^32).`, { seed });
  const majoritySignMethod = options.majoritySignMethod ?? 'total';
  if (majoritySignMethod !== 'total' && majoritySignMethod !== 'frequency') {
    throw invalid(`majoritySignMethod is ${JSON.stringify(majoritySignMethod)}; use "total" or "frequency".`, { majoritySignMethod });
  }
  return { weights, density: density ?? 1, majoritySignMethod, modules: groupModules(adapters, requires) };
}

function groupModules(adapters: readonly LoraAdapter[], { equalRanks = false, unionModules = false }: MergeRequirements): ModuleGroup[] {
  const byName = adapters.map((adapter) => new Map(adapter.modules.map((m) => [m.name, m])));
  const names = unionModules ? [...new Set(adapters.flatMap((a) => a.modules.map((m) => m.name)))] : adapters[0].modules.map((m) => m.name);
  byName.forEach((modules, i) => {
    const missing = names.filter((n) => !modules.has(n));
    const extra = [...modules.keys()].filter((n) => !byName[0].has(n));
    if (!unionModules && (missing.length || extra.length)) {
      const what = missing.length
        ? `lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`
        : `has ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}`;
      throw incompatible(`Adapter ${i + 1} ${what}, unlike adapter 1; merged adapters must target the same modules.`, { adapter: i, missing, extra });
    }
  });
  return names.map((name) => {
    const owners = byName.flatMap((modules, i) => (modules.has(name) ? [i] : []));
    const members = owners.map((i) => byName[i].get(name)!);
    const [rows] = members[0].b.shape;
    const cols = members[0].a.shape[1];
    members.forEach((m, k) => {
      const i = owners[k];
      if (m.b.shape[0] !== rows || m.a.shape[1] !== cols) {
        throw incompatible(
          `${name}: adapter ${i + 1} adapts a ${m.b.shape[0]} × ${m.a.shape[1]} weight, adapter ${owners[0] + 1} a ${rows} × ${cols} one; were they trained on the same base model?`,
          {
            module: name,
            adapter: i,
          },
        );
      }
      if (equalRanks && m.rank !== members[0].rank) {
        throw incompatible(
          `${name}: adapter ${i + 1} has rank ${m.rank}, adapter ${owners[0] + 1} rank ${members[0].rank}; this method needs equal ranks (use cat or an *_svd method).`,
          {
            module: name,
            adapter: i,
            ranks: members.map((x) => x.rank),
          },
        );
      }
    });
    return { name, rows, cols, members, owners };
  });
}
