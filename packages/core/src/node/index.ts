/**
 * Node.js file access: files and directories on disk as the
 * {@link ByteSource} and {@link WritableFolder} the rest of the SDK reads.
 * @module \@lorafuse/core/node
 */
export { fileSource } from './file-source.js';
export { nodeFolder } from './node-folder.js';
export { writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export type { ByteSource } from '../io/source.js';
export type { WritableFolder } from '../io/folder.js';
export { hfHome, hubCacheDir, nodeHubCache } from './hub-cache.js';
export { hubFolder } from './hub-folder.js';
export type { HubCache, HubFolder, HubFolderOptions, HubProgress } from '../io/hub/index.js';
