/**
 * JupyterLab plugins (the file viewer and the widget) — filled in by the graph-view work.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

const plugins: JupyterFrontEndPlugin<any>[] = [];
export default plugins;
