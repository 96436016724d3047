/**
 * Graph view widgets in an exported notebook (`jupyter nbconvert --to html`): nbconvert writes
 * a widget output as a `<script type="application/vnd.jupyter.widget-view+json">` naming its
 * model, and the notebook's saved widget state (which nbclient and JupyterLab can store) at the
 * end of the page. Without a kernel, or the widget manager a page would fetch from the network,
 * nothing draws them; this module draws each `GraphView` among them as a standalone view, from
 * its saved state: the payload, the selection, the overlay, the open groups.
 */
import { GraphViewer, IOverlay, IViewPayload, NodeMark } from '../view';
import { CSS } from '../view/css';
import { draw } from './standalone';

const VIEW_MIME_TYPE = 'application/vnd.jupyter.widget-view+json';
const STATE_MIME_TYPE = 'application/vnd.jupyter.widget-state+json';
/** The `_anywidget_id` of `workbench.widgets.GraphView`'s models. */
const GRAPH_VIEW = 'workbench.widgets._graph.GraphView';

/** A saved widget model's state: the traits `GraphView` syncs. */
interface IGraphViewState {
  _anywidget_id?: string;
  payload?: IViewPayload;
  selected?: string[];
  highlighted?: string[];
  overlay?: IOverlay | null;
  expanded?: string[];
  marks?: { [nodeId: string]: NodeMark };
}

/** Draws every saved `GraphView` output of the page; returns the viewers it started. */
export function drawSavedWidgets(root: ParentNode = document): Promise<GraphViewer>[] {
  const models = savedModels(root);
  const drawn: Promise<GraphViewer>[] = [];
  for (const script of Array.from(root.querySelectorAll(`script[type="${VIEW_MIME_TYPE}"]`))) {
    const modelId = parse(script.textContent)?.model_id;
    const state = typeof modelId === 'string' ? models[modelId] : undefined;
    if (!state || state._anywidget_id !== GRAPH_VIEW || !state.payload) {
      continue;
    }
    const block = document.createElement('div');
    block.className = `${CSS}standalone`;
    block.dataset.mounted = 'true';
    // In the script's place: a widget manager loaded later finds nothing left to draw twice.
    script.replaceWith(block);
    const payload: IViewPayload = {
      ...state.payload,
      summary: null, // the widget draws no card
      selected: state.selected ?? [],
      highlighted: state.highlighted ?? [],
      overlay: state.overlay ?? null,
      expanded: state.expanded ?? state.payload.expanded,
      marks: state.marks ?? {}
    };
    drawn.push(draw(block, { standalone: 1, payload, table: null }));
  }
  return drawn;
}

/** The saved widget models of the page by id (none when the notebook saved no widget state). */
function savedModels(root: ParentNode): { [modelId: string]: IGraphViewState } {
  const saved = parse(root.querySelector(`script[type="${STATE_MIME_TYPE}"]`)?.textContent);
  const models: { [modelId: string]: IGraphViewState } = {};
  const state = saved?.state;
  if (state && typeof state === 'object') {
    for (const [id, model] of Object.entries(
      state as { [id: string]: { state?: IGraphViewState } }
    )) {
      if (model?.state) {
        models[id] = model.state;
      }
    }
  }
  return models;
}

/** JSON text parsed, or null when it is missing or malformed. */
function parse(text: string | null | undefined): { [key: string]: unknown } | null {
  try {
    return text ? (JSON.parse(text) as { [key: string]: unknown }) : null;
  } catch {
    return null;
  }
}
