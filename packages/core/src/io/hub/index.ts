export { DEFAULT_HUB_ENDPOINT, hubFolder, type HubFolder, type HubFolderOptions } from './folder.js';
export type { HubCache, HubCachedFile, HubFileInfo, PartialWriter } from './cache.js';
export { cacheStorageHubCache, type CacheLike } from './cache-storage.js';
export type { HubProgress } from './download.js';
export { portableHash, type HashFactory, type Hasher } from './hash.js';
export { isCommitHash, isRepoId, parseHubReference, repoFolderName, type HubReference } from './repo.js';
