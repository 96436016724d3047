/**
 * Where the viewer gets what its payload lacks (IViewSource): the Jupyter server route,
 * for the `.onnx` file viewer, or the kernel, for the widget (custom comm messages,
 * docs/view-schema.md "Messages").
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IDetails,
  IGroup,
  ISearchAnswer,
  ITensorView,
  IViewPayload,
  IViewSource
} from './view/types';

/** The server route, relative to the server's base URL. */
export const VIEW_ROUTE = 'onnx-workbench/view';

/**
 * Reads a model file's view through `GET onnx-workbench/view?path=...`, or the view of two
 * model files' diff through `...?path=<a>&diff=<b>`.
 * Errors carry the server's message (not ONNX, outside the root, …).
 */
export class ServerViewSource implements IViewSource {
  /**
   * @param path - the file's path relative to the server root, read at each request,
   *   so a renamed file keeps working.
   * @param diff - the path of the model to diff it with (`b`; the file is `a`), if any.
   */
  constructor(
    private readonly _path: () => string,
    private readonly _settings: ServerConnection.ISettings,
    private readonly _diff: (() => string) | null = null
  ) {}

  /** The file's view payload. */
  payload(): Promise<IViewPayload> {
    return this._get({});
  }

  group(id: string): Promise<IGroup> {
    return this._get({ group: id });
  }

  details(nodeId: string): Promise<IDetails> {
    return this._get({ details: nodeId });
  }

  search(query: string): Promise<ISearchAnswer> {
    return this._get({ search: query });
  }

  tensor(name: string, index: string, npy: boolean): Promise<ITensorView> {
    return this._get({ tensor: name, index, npy: npy ? '1' : '' });
  }

  private async _get<T>(query: { [key: string]: string }): Promise<T> {
    const url =
      URLExt.join(this._settings.baseUrl, VIEW_ROUTE) +
      URLExt.objectToQueryString({
        path: this._path(),
        ...(this._diff ? { diff: this._diff() } : {}),
        ...query
      });
    const response = await ServerConnection.makeRequest(url, {}, this._settings);
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message =
        typeof body?.message === 'string'
          ? body.message
          : `The server answered ${response.status} ${response.statusText}.`;
      throw new Error(message);
    }
    return body as T;
  }
}

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
