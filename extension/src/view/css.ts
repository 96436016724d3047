/** Prefix of every class name, element id and custom property the graph view uses. */
export const CSS = 'jp-OnnxWorkbench-';
