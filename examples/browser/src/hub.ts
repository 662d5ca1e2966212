// The model and adapters named by Hugging Face Hub id, opened with the
// portable hubFolder: its downloads are kept in the browser's Cache API, so
// a reload, a second run or a resumed one reads them from there instead of
// downloading them again.
import { LoraFuseError, hubFolder, parseHubReference, type Folder, type HubProgress } from '@lorafuse/core';
import type { HubIds } from './api.js';

/** How a run steers its Hub downloads. */
export interface DownloadControl {
  /** Cancels the lookups and every download (an interrupted one resumes next time). */
  readonly signal: AbortSignal;
  /** Gets a line of text as downloads progress. */
  readonly report: (text: string) => void;
}

const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);

/** Opens the repositories of `ids`, the target adapter first among `adapters`. */
export async function openHubInputs(ids: HubIds, { signal, report }: DownloadControl): Promise<{ model: Folder; adapters: Folder[] }> {
  let shown = '';
  const onProgress = ({ repo, path, loaded, total, cached }: HubProgress) => {
    if (cached) return;
    // A line per tenth of a megabyte, not per network chunk.
    const text = `downloading ${repo}/${path}: ${megabytes(loaded)} of ${megabytes(total)} MB`;
    if (text === shown) return;
    shown = text;
    report(text);
  };
  const open = async (id: string): Promise<Folder> => {
    const reference = parseHubReference(id.trim());
    if (!reference) throw new LoraFuseError('INVALID_OPTION', `"${id}" is not a Hub id: write org/name or org/name@revision.`, { details: { id } });
    return hubFolder(reference.repo, { revision: reference.revision, endpoint: ids.endpoint, signal, onProgress });
  };
  const model = await open(ids.model);
  const adapters: Folder[] = [];
  for (const id of [ids.target, ...ids.related]) adapters.push(await open(id));
  return { model, adapters };
}
