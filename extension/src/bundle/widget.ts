/**
 * The `GraphView` widget's front end on the anywidget protocol (`render({ model, el })`):
 * JupyterLab, Notebook 7, VS Code, Colab and marimo load it from the wheel's bundle, with no
 * extension of ours. The kernel-side class is `workbench.widgets.GraphView`.
 *
 * The model carries the payload and the synced state (selected, highlighted, overlay,
 * expanded, marks, breakpoint_clicks, revealed); the viewer asks the kernel for the groups
 * and node details its payload lacks with custom messages (`view/kernel.ts`).
 */
import { viewerSettings } from '../preferences';
import { GraphViewer, IOverlay, IViewPayload, NodeMark } from '../view';
import { KernelViewSource } from '../view/kernel';
import { themeless } from './theme';

/** What a host's widget model offers (anywidget's `AnyModel`, the part used here). */
export interface IWidgetModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  on(event: string, callback: (...args: never[]) => void): void;
  off(event?: string | null, callback?: ((...args: never[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown[]): void;
}

/** Draws one display of the widget in `el`; returns what removes it. */
export function render({ model, el }: { model: IWidgetModel; el: HTMLElement }): () => void {
  el.classList.add('jp-OnnxWorkbench-widget');
  themeless(el);
  // Jupyter sizes `el` from the widget's layout; other hosts (marimo) read the height here.
  const height = model.get('height');
  if (typeof height === 'number' && !el.style.height) {
    el.style.height = `${height}px`;
  }
  const source = new KernelViewSource(message => model.send(message));
  const onMessage = (message: unknown) => source.handle(message);
  model.on('msg:custom', onMessage);
  let expanded = ids(model.get('expanded'));
  let selected = ids(model.get('selected'));
  const payload: IViewPayload = {
    ...(model.get('payload') as IViewPayload),
    selected,
    highlighted: ids(model.get('highlighted')),
    overlay: model.get('overlay') as IOverlay | null,
    expanded,
    marks: model.get('marks') as { [nodeId: string]: NodeMark }
  };
  const host = document.createElement('div');
  el.replaceChildren(host);
  const viewer = new GraphViewer(
    host,
    payload,
    source,
    {
      selectionChanged: ids => {
        selected = ids;
        model.set('selected', ids);
        model.save_changes();
      },
      expandedChanged: ids => {
        expanded = ids;
        model.set('expanded', ids);
        model.save_changes();
      },
      breakpointToggled: id => model.send({ event: 'breakpoint', id })
    },
    viewerSettings()
  );
  viewer.setBreakpointClicks(model.get('breakpoint_clicks') === true);
  const revealed = model.get('revealed');
  if (typeof revealed === 'string' && revealed) {
    void viewer.showNode(revealed);
  }

  const listeners: { [event: string]: () => void } = {
    'change:selected': () => {
      const now = ids(model.get('selected'));
      // A click in this view is already shown here: re-selecting would re-centre the view.
      if (!sameIds(now, selected)) {
        selected = now;
        void viewer.select(now);
      }
    },
    'change:highlighted': () => viewer.highlight(ids(model.get('highlighted'))),
    'change:overlay': () => viewer.setOverlay(model.get('overlay') as IOverlay | null),
    'change:expanded': () => {
      // Opens and closes groups to match `expanded` set from Python or another view.
      const before = new Set(expanded);
      const after = ids(model.get('expanded'));
      expanded = after;
      const now = new Set(after);
      for (const id of before) {
        if (!now.has(id)) {
          void viewer.collapse(id);
        }
      }
      for (const id of after) {
        if (!before.has(id)) {
          void viewer.expand(id);
        }
      }
    },
    'change:marks': () => viewer.setMarks(model.get('marks') as { [nodeId: string]: NodeMark }),
    'change:breakpoint_clicks': () =>
      viewer.setBreakpointClicks(model.get('breakpoint_clicks') === true),
    'change:revealed': () => {
      const id = model.get('revealed');
      if (typeof id === 'string' && id) {
        void viewer.showNode(id);
      }
    }
  };
  for (const [event, listener] of Object.entries(listeners)) {
    model.on(event, listener);
  }
  return () => {
    for (const [event, listener] of Object.entries(listeners)) {
      model.off(event, listener);
    }
    model.off('msg:custom', onMessage);
    viewer.dispose();
    source.dispose();
  };
}

/** A synced list of ids (anything else reads as none). */
function ids(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

/** Whether two id lists hold the same ids in the same order. */
function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
