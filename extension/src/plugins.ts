/**
 * JupyterLab plugins: the `.onnx` file viewer and the settings. (The GraphView widget's front
 * end is the anywidget bundle, `bundle/`, which every notebook host loads from the wheel.)
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { fileViewerPlugin } from './fileviewer';
import { settingsPlugin } from './settings';

const plugins: JupyterFrontEndPlugin<void>[] = [settingsPlugin, fileViewerPlugin];
export default plugins;
