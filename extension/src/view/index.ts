/**
 * The graph view: a JupyterLab-free viewer of the graph view JSON (docs/view-schema.md),
 * shared by the notebook output, the file viewer and the widget.
 */
export * from './types';
export type { WheelMode } from './panzoom';
export type { LayoutDirection } from './dot';
export { GraphViewer, IViewerOptions } from './viewer';
