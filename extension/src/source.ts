/**
 * Where the `.onnx` file viewer gets what its payload lacks (IViewSource): the Jupyter server
 * route. (The widget asks the kernel: `view/kernel.ts`.)
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
