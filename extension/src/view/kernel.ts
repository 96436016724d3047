/**
 * Where the widget's viewer gets what its payload lacks (IViewSource): the kernel, over the
 * widget's custom messages (docs/view-schema.md "Messages"). Host-free: it only needs a
 * function that sends one message, so the anywidget front end of every notebook host uses it.
 */
import { IDetails, IGroup, ISearchAnswer, ITensorView, IViewSource } from './types';

/**
 * A request to the kernel: `{"request": "group" | "details" | "search" | "tensor", "id": ...}`
 * (a search's id is its query; a tensor's `[name, index, npy]` as JSON).
 */
type Request = 'group' | 'details' | 'search' | 'tensor';

interface IPending {
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A kernel message answering a request: `{"response": ..., "id": ..., <response>: ... | "error": ...}`. */
interface IAnswer {
  response?: string;
  id?: string;
  error?: unknown;
  [field: string]: unknown;
}

/**
 * Asks the kernel for groups and node details over the widget's comm. Each answer settles
 * the promise waiting on its (request, id); asking again for a pending one shares it.
 */
export class KernelViewSource implements IViewSource {
  /** @param _send - sends one custom message to the kernel-side widget. */
  constructor(private readonly _send: (message: { request: Request; id: string }) => void) {}

  group(id: string): Promise<IGroup> {
    return this._ask('group', id);
  }

  details(nodeId: string): Promise<IDetails> {
    return this._ask('details', nodeId);
  }

  search(query: string): Promise<ISearchAnswer> {
    return this._ask('search', query);
  }

  tensor(name: string, index: string, npy: boolean): Promise<ITensorView> {
    return this._ask('tensor', JSON.stringify([name, index, npy]));
  }

  /** Settles the pending request a kernel message answers; other messages are ignored. */
  handle(message: unknown): void {
    const answer = (typeof message === 'object' && message !== null ? message : {}) as IAnswer;
    const key = pendingKey(answer.response, answer.id);
    const pending = this._pending.get(key);
    if (!pending) {
      return;
    }
    this._pending.delete(key);
    if (typeof answer.error === 'string') {
      pending.reject(new Error(answer.error));
    } else {
      pending.resolve(answer[answer.response as string]);
    }
  }

  /** Fails every pending request (the widget was closed or its kernel went away). */
  dispose(): void {
    for (const pending of this._pending.values()) {
      pending.reject(new Error('The widget was closed before the kernel answered.'));
    }
    this._pending.clear();
  }

  private _ask<T>(request: Request, id: string): Promise<T> {
    const key = pendingKey(request, id);
    let pending = this._pending.get(key);
    if (!pending) {
      let resolve!: (value: unknown) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<T>((ok, fail) => {
        resolve = ok as (value: unknown) => void;
        reject = fail;
      });
      pending = { promise, resolve, reject };
      this._pending.set(key, pending);
      this._send({ request, id });
    }
    return pending.promise as Promise<T>;
  }

  private readonly _pending = new Map<string, IPending>();
}

/** The pending-map key of a (request, id) pair. */
function pendingKey(request: string | undefined, id: string | undefined): string {
  return JSON.stringify([request, id]);
}
