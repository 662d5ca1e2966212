// Typed calls into a Web Worker: request/response, progress, cancel, transferables.
export { WorkerClient, type WorkerCallOptions } from './client.js';
export { serveWorker, type WorkerCallContext, type WorkerHandlers } from './server.js';
export { buffersOf, withTransfer, type MessageEndpoint, type Transferring, type WorkerApi } from './protocol.js';
