/**
 * The graph view as one ES module, for every host that is not our JupyterLab extension
 * (built into `workbench/static/workbench.js`, shipped in the wheel):
 * - the `GraphView` widget's front end on the anywidget protocol (the default export's
 *   `render`): JupyterLab and Notebook 7 with the anywidget front end, VS Code, Colab, marimo;
 * - the standalone view of an HTML file or an exported notebook: loading the module draws
 *   every standalone block of the page (`mountAll`), and every graph view widget an exported
 *   notebook saved the state of (`drawSavedWidgets`).
 */
import { drawSavedWidgets } from './exported';
import { mountAll } from './standalone';
import { render } from './widget';

export { drawSavedWidgets } from './exported';
export { mount, mountAll } from './standalone';
export default { render };

if (typeof document !== 'undefined') {
  mountAll();
  drawSavedWidgets();
}
