import { LoraFuseError } from '../errors/index.js';
import {
  PROTOCOL,
  isProtocolMessage,
  serializeError,
  unwrapTransfer,
  type MessageEndpoint,
  type RequestMessage,
  type ResponseMessage,
  type Transferring,
  type WorkerApi,
} from './protocol.js';

/** What a handler gets next to its input. */
export interface WorkerCallContext<Progress> {
  /** Fires when the page cancels the call (or disposes its client); pass it to the SDK's long-running functions. */
  readonly signal: AbortSignal;
  /** Sends a progress value to the caller's `onProgress` (optionally moving buffers, see `withTransfer`). */
  progress(value: Progress | Transferring<Progress>): void;
}

/** One async function per method of `Api`; returning `withTransfer(value, buffers)` moves the buffers to the page. */
export type WorkerHandlers<Api extends WorkerApi> = {
  readonly [M in keyof Api]: (
    input: Api[M]['input'],
    context: WorkerCallContext<Api[M]['progress']>,
  ) => Promise<Api[M]['output'] | Transferring<Api[M]['output']>>;
};

/**
 * Serves `handlers` on `endpoint` (inside a worker: `self`): each call from
 * a {@link WorkerClient} runs its handler with an `AbortSignal` the client's
 * cancel fires, its progress values are posted back as they come, and its
 * result or error (a `LoraFuseError` keeps its code, message and details)
 * ends the call. A method that is not served answers `WORKER_PROTOCOL`.
 * Returns a function that stops serving and aborts the calls in flight.
 */
export function serveWorker<Api extends WorkerApi>(endpoint: MessageEndpoint, handlers: WorkerHandlers<Api>): () => void {
  const running = new Map<number, AbortController>();
  const post = (message: ResponseMessage, transfer: Transferable[] = []) => endpoint.postMessage(message, transfer);

  async function run(id: number, method: string, input: unknown): Promise<void> {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
      if (typeof handler !== 'function') {
        throw new LoraFuseError('WORKER_PROTOCOL', `The worker serves no method "${method}"; it serves ${Object.keys(handlers).join(', ') || 'nothing'}.`, {
          details: { method },
        });
      }
      const progress = (value: unknown) => {
        if (!controller.signal.aborted) post({ protocol: PROTOCOL, type: 'progress', id, value: unwrapTransfer(value)[0] }, unwrapTransfer(value)[1]);
      };
      const [value, transfer] = unwrapTransfer(await handler(input as never, { signal: controller.signal, progress }));
      post({ protocol: PROTOCOL, type: 'result', id, value }, transfer);
    } catch (error) {
      post({ protocol: PROTOCOL, type: 'error', id, error: serializeError(error) });
    } finally {
      running.delete(id);
    }
  }

  const listener = (event: MessageEvent) => {
    const data: unknown = event.data;
    if (!isProtocolMessage(data)) return;
    const message = data as RequestMessage;
    if (message.type === 'call') void run(message.id, message.method, message.input);
    else if (message.type === 'cancel') running.get(message.id)?.abort(new LoraFuseError('ABORTED', 'The page cancelled the call.'));
  };
  endpoint.addEventListener('message', listener);
  endpoint.start?.();
  return () => {
    endpoint.removeEventListener('message', listener);
    for (const controller of running.values()) controller.abort(new LoraFuseError('ABORTED', 'The worker stopped serving.'));
  };
}
