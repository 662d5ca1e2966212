export { blobSource, bytesSource, checkRange, readAll, type ByteSource } from './source.js';
export { concatBytes, directoryHandleFolder, filesFolder, memoryFolder, readFile, safeRelativePath, type Folder, type WritableFolder } from './folder.js';
export { DEFAULT_JSON_LIMITS, decodeUtf8, isJsonObject, parseJsonBytes, parseJsonText, type JsonLimits } from './text.js';
export { readJsonFile } from './json-file.js';
export { urlFolder, urlSource, type UrlOptions } from './url.js';
export { opfsFolder, opfsFolderExists, removeOpfsFolder } from './opfs.js';
export * from './hub/index.js';
export * from './gguf/index.js';
