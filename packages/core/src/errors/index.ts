export { ErrorCodes, type ErrorCode } from './codes.js';
export { LoraFuseError, isLoraFuseError, throwIfAborted } from './error.js';
