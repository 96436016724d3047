/**
 * JupyterLab glue: registers the MIME renderer of the graph view. A notebook output shows
 * the model's summary card above an interactive graph viewer. The rendering lives in
 * `summary.ts` and `view/`, which know nothing about JupyterLab.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { viewerSettings } from './preferences';
import { ISummary, renderSummary } from './summary';
import { GraphViewer, IViewPayload } from './view';

/** The MIME type `workbench.Model` and graph views put in their mimebundle (`VIEW_MIME_TYPE` in Python too). */
export const VIEW_MIME_TYPE = 'application/vnd.onnx-workbench.graph+json';

/** What an output shows in a group that its payload does not hold. */
const MISSING_GROUP_TEXT = 'not in this output — use m.view() to load it';

class GraphRenderer extends Widget implements IRenderMime.IRenderer {
  private viewer: GraphViewer | null = null;

  constructor() {
    super();
    this.addClass('jp-OnnxWorkbench-renderer');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = model.data[VIEW_MIME_TYPE] as unknown as IViewPayload;
    this.viewer?.dispose();
    // The box is resizable; the viewer fills it.
    const box = document.createElement('div');
    box.className = 'jp-OnnxWorkbench-graphBox';
    const host = document.createElement('div');
    box.appendChild(host);
    const parts: HTMLElement[] = [];
    if (payload.summary) {
      parts.push(renderSummary(payload.summary as unknown as ISummary));
    }
    parts.push(box);
    this.node.replaceChildren(...parts);
    this.viewer = new GraphViewer(
      host,
      payload,
      null,
      {},
      {
        missingGroupText: MISSING_GROUP_TEXT,
        ...viewerSettings()
      }
    );
    return this.viewer.ready;
  }

  dispose(): void {
    this.viewer?.dispose();
    this.viewer = null;
    super.dispose();
  }
}

const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [VIEW_MIME_TYPE],
  createRenderer: () => new GraphRenderer()
};

const extension: IRenderMime.IExtension = {
  id: 'onnx-workbench:graph',
  description: 'Renders ONNX Workbench model summaries and graph views.',
  rendererFactory,
  // A lower rank than text/html's (50): the view wins over the static HTML fallback,
  // which front ends without this extension (nbviewer, VS Code) show instead.
  rank: 0,
  dataType: 'json'
};

export default extension;
