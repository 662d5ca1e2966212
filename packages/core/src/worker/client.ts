import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import {
  PROTOCOL,
  deserializeError,
  isProtocolMessage,
  unwrapTransfer,
  type MessageEndpoint,
  type RequestMessage,
  type ResponseMessage,
  type Transferring,
  type WorkerApi,
} from './protocol.js';

/** Options of one {@link WorkerClient.call}. */
export interface WorkerCallOptions<Progress> {
  /** Aborting sends a cancel to the worker; the call then rejects with what the worker answers (`ABORTED` once its handler has stopped). */
  readonly signal?: AbortSignal;
  /** Called with each progress value the handler sends. */
  readonly onProgress?: (value: Progress) => void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?: (value: unknown) => void;
}

/** A `Worker`'s extra events: a script that fails to load or throws at the top level ends every call. */
interface WorkerEvents {
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

const isWorker = (endpoint: MessageEndpoint): endpoint is MessageEndpoint & WorkerEvents =>
  typeof (endpoint as { terminate?: unknown }).terminate === 'function';

/**
 * The page's side of the worker protocol: typed calls into a worker that
 * runs {@link serveWorker}, with progress, cancellation through an
 * `AbortSignal`, and buffers moved rather than copied when marked with
 * `withTransfer`. A worker that fails to load or crashes rejects every
 * pending call with `WORKER_FAILED`.
 */
export class WorkerClient<Api extends WorkerApi> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: LoraFuseError | undefined;
  private readonly listener = (event: MessageEvent) => this.receive(event.data);

  /** Talks to the worker (or port) `endpoint`. */
  constructor(private readonly endpoint: MessageEndpoint) {
    endpoint.addEventListener('message', this.listener);
    endpoint.start?.();
    if (isWorker(endpoint)) {
      endpoint.addEventListener('error', (event) => this.fail(`The worker failed: ${(event as ErrorEvent).message || 'its script did not load'}.`));
      endpoint.addEventListener('messageerror', () => this.fail('A message from the worker could not be deserialized.'));
    }
  }

  /** Calls `method` with `input` (mark buffers to move with `withTransfer`); resolves to the handler's result. */
  call<M extends keyof Api & string>(
    method: M,
    input: Api[M]['input'] | Transferring<Api[M]['input']>,
    options: WorkerCallOptions<Api[M]['progress']> = {},
  ): Promise<Api[M]['output']> {
    if (this.failure) return Promise.reject(this.failure);
    try {
      throwIfAborted(options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.nextId++;
    const [value, transfer] = unwrapTransfer(input);
    return new Promise((resolve, reject) => {
      const cancel = () => this.post({ protocol: PROTOCOL, type: 'cancel', id }, []);
      options.signal?.addEventListener('abort', cancel, { once: true });
      const settle = () => options.signal?.removeEventListener('abort', cancel);
      this.pending.set(id, {
        resolve: (v) => {
          settle();
          resolve(v as Api[M]['output']);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
        onProgress: options.onProgress as ((value: unknown) => void) | undefined,
      });
      try {
        this.post({ protocol: PROTOCOL, type: 'call', id, method, input: value }, transfer);
      } catch (cause) {
        this.pending.delete(id);
        settle();
        reject(new LoraFuseError('WORKER_PROTOCOL', `The input of ${method} cannot be posted to a worker: ${(cause as Error).message}`, { cause }));
      }
    });
  }

  /** Rejects every pending call with `WORKER_FAILED` and, for a `Worker`, terminates it. */
  dispose(): void {
    this.fail('The worker client was disposed.');
    this.endpoint.removeEventListener('message', this.listener);
    if (isWorker(this.endpoint)) this.endpoint.terminate();
  }

  private post(message: RequestMessage, transfer: Transferable[]): void {
    this.endpoint.postMessage(message, transfer);
  }

  private receive(data: unknown): void {
    if (!isProtocolMessage(data)) return;
    const message = data as ResponseMessage;
    const call = this.pending.get(message.id);
    if (!call) return;
    if (message.type === 'progress') call.onProgress?.(message.value);
    else {
      this.pending.delete(message.id);
      if (message.type === 'result') call.resolve(message.value);
      else if (message.type === 'error') call.reject(deserializeError(message.error));
      else
        call.reject(new LoraFuseError('WORKER_PROTOCOL', `The worker answered with an unknown message type "${String((message as { type: unknown }).type)}".`));
    }
  }

  private fail(message: string): void {
    this.failure ??= new LoraFuseError('WORKER_FAILED', message);
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
  }
}
