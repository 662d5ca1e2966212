import { LoraFuseError } from '../errors/index.js';
import type { WritableFolder } from '../io/index.js';
import { writeSafetensors } from '../io/safetensors/index.js';
import type { Tensor } from '../tensor/index.js';
import { adapterConfigToJson } from './config.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterKey } from './keys.js';
import { checkFactors, compareModuleNames } from './module.js';
import { isTargetModule, loraScaling, moduleHyperparameters } from './targeting.js';
import type { AdapterConfig, LoraAdapter } from './types.js';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The config to save for `adapter`: its own, with exact-name entries put
 * first in `rank_pattern`/`alpha_pattern` for modules whose rank or alpha
 * differs from what the config would give them (after merging or pruning),
 * so that PEFT rebuilds every module with the rank and scaling it has here.
 * Throws `INVALID_OPTION` for a module the config does not target or whose
 * scaling is not the one PEFT derives from its alpha and rank.
 */
export function configForSave(adapter: LoraAdapter): AdapterConfig {
  const { config } = adapter;
  const rankOverrides: Record<string, number> = {};
  const alphaOverrides: Record<string, number> = {};
  for (const m of adapter.modules) {
    if (!isTargetModule(config, m.name)) {
      throw new LoraFuseError(
        'INVALID_OPTION',
        `Module ${m.name} is not selected by the adapter's target_modules; PEFT would not load it. Add it to target_modules.`,
        {
          details: { module: m.name },
        },
      );
    }
    const expected = loraScaling(m.alpha, m.rank, config.useRslora);
    if (!(Math.abs(m.scaling - expected) <= 1e-12 * Math.abs(expected))) {
      throw new LoraFuseError(
        'INVALID_OPTION',
        `Module ${m.name} has scaling ${m.scaling}, but PEFT derives ${expected} from its alpha ${m.alpha} and rank ${m.rank}; set alpha so that the scaling follows.`,
        { details: { module: m.name, scaling: m.scaling, alpha: m.alpha, rank: m.rank } },
      );
    }
    const given = moduleHyperparameters(config, m.name);
    const key = escapeRegex(m.name);
    if (given.rank !== m.rank) rankOverrides[key] = m.rank;
    if (given.alpha !== m.alpha) alphaOverrides[key] = m.alpha;
  }
  // Earlier keys win in PEFT's lookup, so the exact names go first.
  return Object.freeze({
    ...config,
    rankPattern: Object.freeze({ ...rankOverrides, ...config.rankPattern }),
    alphaPattern: Object.freeze({ ...alphaOverrides, ...config.alphaPattern }),
  });
}

/**
 * Saves `adapter` as PEFT does: `adapter_model.safetensors` with tensors
 * `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` in their own
 * dtype (metadata `{"format": "pt"}`), then `adapter_config.json` (see
 * {@link configForSave}). Each file is replaced atomically by the folder.
 */
export async function saveAdapter(folder: WritableFolder, adapter: LoraAdapter): Promise<void> {
  const config = configForSave(adapter);
  const tensors: Array<[string, Tensor]> = [];
  const seen = new Set<string>();
  for (const m of [...adapter.modules].sort((x, y) => compareModuleNames(x.name, y.name))) {
    if (seen.has(m.name)) throw new LoraFuseError('INVALID_OPTION', `The adapter has module ${m.name} twice.`, { details: { module: m.name } });
    seen.add(m.name);
    checkFactors(m.name, m.a, m.b, m.rank, 'saveAdapter');
    tensors.push([adapterKey(m.name, 'A'), m.a], [adapterKey(m.name, 'B'), m.b]);
  }
  await writeSafetensors(folder, ADAPTER_WEIGHTS_FILE, tensors, { format: 'pt' });
  await folder.write(ADAPTER_CONFIG_FILE, [new TextEncoder().encode(`${JSON.stringify(adapterConfigToJson(config), null, 2)}\n`)]);
}
