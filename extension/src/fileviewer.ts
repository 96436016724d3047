/**
 * The `.onnx` file viewer: double-clicking a model in the file browser opens its graph
 * view in a main-area tab. The browser never downloads the model: the document's model
 * factory asks for no content, and the view comes from the server route (source.ts).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  TextModelFactory
} from '@jupyterlab/docregistry';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { wheelMode } from './preferences';
import { ServerViewSource } from './source';
import { GraphViewer } from './view';

/** The file type, widget factory and model factory names. */
const FILE_TYPE = 'onnx';
const WIDGET_FACTORY = 'ONNX Workbench';
const MODEL_FACTORY = 'onnx-workbench-no-content';

/** The file browser icon of `.onnx` files: a small graph. */
export const onnxIcon = new LabIcon({
  name: 'onnx-workbench:onnx',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="8" y="1" width="8" height="5" rx="1"/>' +
    '<rect x="1" y="18" width="8" height="5" rx="1"/>' +
    '<rect x="15" y="18" width="8" height="5" rx="1"/>' +
    '<path d="M11 6h2v5h7v7h-2v-5H6v5H4v-7h7z"/>' +
    '</g></svg>'
});

/**
 * A model factory whose documents load no content (`fileFormat: null`): the document
 * context then reads only the file's metadata, however large the model.
 */
class NoContentModelFactory extends TextModelFactory {
  constructor() {
    super(false);
  }

  get name(): string {
    return MODEL_FACTORY;
  }

  get fileFormat(): null {
    return null;
  }
}

/**
 * The tab's content: "Opening model…", then the graph view or the server's error. The view
 * takes the keyboard when the tab opens or is activated: JupyterLab focuses this widget's node,
 * which hands the focus on to the view.
 */
class OnnxViewerContent extends Widget {
  constructor(context: DocumentRegistry.Context, settings: ServerConnection.ISettings) {
    super();
    this.addClass('jp-OnnxWorkbench-fileViewer');
    this.node.tabIndex = -1;
    this.node.addEventListener('focus', () => this._viewer?.focus());
    this._source = new ServerViewSource(() => context.localPath, settings);
    this._showStatus('Opening model…', false);
    void this._open(context);
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (this._viewer) {
      this._viewer.focus();
    } else {
      this.node.focus({ preventScroll: true });
    }
  }

  dispose(): void {
    this._viewer?.dispose();
    this._viewer = null;
    super.dispose();
  }

  private async _open(context: DocumentRegistry.Context): Promise<void> {
    try {
      const payload = await this._source.payload();
      if (!this.isDisposed) {
        const host = document.createElement('div');
        // The view takes the focus if the tab had it while "Opening model…" (or nothing had).
        const focused = this.node.contains(document.activeElement);
        this.node.replaceChildren(host);
        this._viewer = new GraphViewer(host, payload, this._source, {}, { wheel: wheelMode });
        if (this.isVisible && (focused || document.activeElement === document.body)) {
          this._viewer.focus();
        }
      }
    } catch (error) {
      if (!this.isDisposed) {
        const reason = error instanceof Error ? error.message : String(error);
        this._showStatus(`Could not open ${context.localPath}: ${reason}`, true);
      }
    }
  }

  private _showStatus(text: string, isError: boolean): void {
    const status = document.createElement('div');
    status.className = 'jp-OnnxWorkbench-status';
    status.style.padding = '1em';
    if (isError) {
      status.classList.add('jp-mod-error');
      status.style.color = 'var(--jp-error-color1)';
    }
    status.textContent = text;
    this.node.replaceChildren(status);
  }

  private readonly _source: ServerViewSource;
  private _viewer: GraphViewer | null = null;
}

/** Creates the viewer tabs of `.onnx` files. */
class OnnxViewerFactory extends ABCWidgetFactory<DocumentWidget<OnnxViewerContent>> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<DocumentWidget<OnnxViewerContent>>,
    private readonly _settings: ServerConnection.ISettings
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): DocumentWidget<OnnxViewerContent> {
    const content = new OnnxViewerContent(context, this._settings);
    const widget = new DocumentWidget({ content, context });
    widget.title.icon = onnxIcon;
    return widget;
  }
}

/** Registers the `onnx` file type and makes the graph view its default viewer. */
export const fileViewerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'onnx-workbench:file-viewer',
  description: 'Opens .onnx files in the ONNX Workbench graph view.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const registry = app.docRegistry;
    registry.addModelFactory(new NoContentModelFactory());
    registry.addFileType({
      name: FILE_TYPE,
      displayName: 'ONNX model',
      extensions: ['.onnx'],
      mimeTypes: ['application/octet-stream'],
      icon: onnxIcon,
      contentType: 'file',
      fileFormat: null
    });
    registry.addWidgetFactory(
      new OnnxViewerFactory(
        {
          name: WIDGET_FACTORY,
          label: 'ONNX graph view',
          modelName: MODEL_FACTORY,
          fileTypes: [FILE_TYPE],
          defaultFor: [FILE_TYPE],
          readOnly: true
        },
        app.serviceManager.serverSettings
      )
    );
  }
};
