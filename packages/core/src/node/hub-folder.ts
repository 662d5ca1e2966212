import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hubFolder as portableHubFolder, type HubFolder, type HubFolderOptions } from '../io/hub/folder.js';
import type { HashFactory } from '../io/hub/hash.js';
import { hfHome, nodeHubCache } from './hub-cache.js';

/** `node:crypto`'s hashes, several times faster than the portable ones. */
const nodeHash: HashFactory = (algorithm) => {
  const hash = createHash(algorithm);
  return { update: (data) => void hash.update(data), hex: () => hash.digest('hex') };
};

const TRUE = new Set(['1', 'ON', 'YES', 'TRUE']);

/** The token Python's `huggingface_hub` would use: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `hf auth login` writes. */
function envToken(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN)?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(env.HF_TOKEN_PATH || join(hfHome(env), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * {@link portableHubFolder | hubFolder} with Node's defaults, those of
 * Python's `huggingface_hub`: the cache is Python's on disk
 * (`HF_HUB_CACHE`, `HF_HOME`, see {@link nodeHubCache}), the token
 * `HF_TOKEN` (or the token file of `hf auth login`), the endpoint
 * `HF_ENDPOINT`, and `HF_HUB_OFFLINE=1` turns offline mode on. Options
 * given win over the environment.
 *
 * @example
 * ```ts
 * const model = await CausalLM.load(backend, await hubFolder('HuggingFaceTB/SmolLM2-135M'));
 * ```
 */
export function hubFolder(repo: string, options: HubFolderOptions = {}): Promise<HubFolder> {
  const env = process.env;
  return portableHubFolder(repo, {
    ...options,
    token: options.token ?? envToken(env),
    offline: options.offline ?? [env.HF_HUB_OFFLINE, env.TRANSFORMERS_OFFLINE].some((v) => TRUE.has((v ?? '').toUpperCase())),
    endpoint: options.endpoint ?? (env.HF_ENDPOINT || undefined),
    cache: options.cache ?? nodeHubCache(),
    hash: options.hash ?? nodeHash,
  });
}
