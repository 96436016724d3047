/**
 * JupyterLab glue: registers the MIME renderer for model summaries.
 * The rendering itself lives in `summary.ts`, which knows nothing about JupyterLab.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { ISummary, renderSummary } from './summary';

/** The MIME type `workbench.Model` puts in its mimebundle. */
export const SUMMARY_MIME_TYPE = 'application/vnd.onnx-workbench.summary+json';

class SummaryRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('jp-OnnxWorkbench-renderer');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const summary = model.data[SUMMARY_MIME_TYPE] as unknown as ISummary;
    this.node.replaceChildren(renderSummary(summary));
    return Promise.resolve();
  }
}

const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [SUMMARY_MIME_TYPE],
  createRenderer: () => new SummaryRenderer()
};

const extension: IRenderMime.IExtension = {
  id: 'onnx-workbench:summary',
  description: 'Renders ONNX Workbench model summaries.',
  rendererFactory,
  // A lower rank than text/html's (50): the card wins over the static HTML fallback,
  // which front ends without this extension (nbviewer, VS Code) show instead.
  rank: 0,
  dataType: 'json'
};

export default extension;
