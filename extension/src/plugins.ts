/**
 * JupyterLab plugins: the `.onnx` file viewer and the GraphView widget.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { fileViewerPlugin } from './fileviewer';
import { widgetPlugin } from './widget';

const plugins: JupyterFrontEndPlugin<void>[] = [fileViewerPlugin, widgetPlugin];
export default plugins;
