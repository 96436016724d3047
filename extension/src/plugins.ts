/**
 * JupyterLab plugins: the `.onnx` file viewer, the GraphView widget and the settings.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { fileViewerPlugin } from './fileviewer';
import { settingsPlugin } from './settings';
import { widgetPlugin } from './widget';

const plugins: JupyterFrontEndPlugin<void>[] = [settingsPlugin, fileViewerPlugin, widgetPlugin];
export default plugins;
