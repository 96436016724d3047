/**
 * The `GraphView` ipywidget's front end: a model that carries the payload and the synced
 * state (selected, highlighted, overlay, expanded, marks, breakpoint_clicks, revealed), and
 * a view hosting the graph viewer.
 * The kernel-side class is `workbench.widgets.GraphView`.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  DOMWidgetModel,
  DOMWidgetView,
  IBackboneModelOptions,
  IJupyterWidgetRegistry,
  ISerializers
} from '@jupyter-widgets/base';
import type { ObjectHash } from 'backbone';

import { viewerSettings } from './preferences';
import { KernelViewSource } from './source';
import { GraphViewer, IOverlay, IViewPayload, NodeMark } from './view';

/** Options passed with a change this view made, so that it can skip its own echo. */
interface ISetOptions {
  origin?: unknown;
}

// The module's name and version are the npm package's (webpack inlines package.json).
declare function require(path: string): { name: string; version: string };
const { name: MODULE_NAME, version: MODULE_VERSION } = require('../package.json');

/** The widget's state, shared by its views; answers to group/details requests arrive here. */
export class GraphViewModel extends DOMWidgetModel {
  defaults(): ObjectHash {
    return {
      ...super.defaults(),
      _model_name: 'GraphViewModel',
      _view_name: 'GraphViewView',
      _model_module: MODULE_NAME,
      _view_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_module_version: MODULE_VERSION,
      payload: {},
      selected: [],
      highlighted: [],
      overlay: null,
      expanded: [],
      marks: {},
      breakpoint_clicks: false,
      revealed: null
    };
  }

  initialize(attributes: ObjectHash, options: IBackboneModelOptions): void {
    super.initialize(attributes, options);
    this.source = new KernelViewSource(message => this.send(message, {}));
    this.on('msg:custom', (message: unknown) => this.source.handle(message));
    this.on('destroy', () => this.source.dispose());
  }

  /** Fetches the groups and node details the payload lacks from the kernel. */
  source!: KernelViewSource;

  static serializers: ISerializers = { ...DOMWidgetModel.serializers };
}

/** One display of the widget: a graph viewer kept in step with the model both ways. */
export class GraphViewView extends DOMWidgetView {
  declare model: GraphViewModel;

  render(): void {
    this.el.classList.add('jp-OnnxWorkbench-widget');
    const model = this.model;
    this._expanded = model.get('expanded');
    const payload: IViewPayload = {
      ...model.get('payload'),
      selected: model.get('selected'),
      highlighted: model.get('highlighted'),
      overlay: model.get('overlay'),
      expanded: this._expanded,
      marks: model.get('marks')
    };
    const host = document.createElement('div');
    this.el.replaceChildren(host);
    const viewer = new GraphViewer(
      host,
      payload,
      model.source,
      {
        selectionChanged: ids => this._save('selected', ids),
        expandedChanged: ids => {
          this._expanded = ids;
          this._save('expanded', ids);
        },
        breakpointToggled: id => model.send({ event: 'breakpoint', id }, {})
      },
      viewerSettings()
    );
    this._viewer = viewer;
    viewer.setBreakpointClicks(model.get('breakpoint_clicks'));
    const revealed: string | null = model.get('revealed');
    if (revealed) {
      void viewer.showNode(revealed);
    }
    this.listenTo(model, 'change:selected', (_: unknown, ids: string[], options?: ISetOptions) => {
      // A click in this view is already shown here: re-selecting would re-centre the view.
      if (options?.origin !== this) {
        void viewer.select(ids);
      }
    });
    this.listenTo(model, 'change:highlighted', () => viewer.highlight(model.get('highlighted')));
    this.listenTo(model, 'change:overlay', () =>
      viewer.setOverlay(model.get('overlay') as IOverlay | null)
    );
    this.listenTo(model, 'change:expanded', () => this._followExpanded(model.get('expanded')));
    this.listenTo(model, 'change:marks', () =>
      viewer.setMarks(model.get('marks') as { [nodeId: string]: NodeMark })
    );
    this.listenTo(model, 'change:breakpoint_clicks', () =>
      viewer.setBreakpointClicks(model.get('breakpoint_clicks'))
    );
    this.listenTo(model, 'change:revealed', () => {
      const id: string | null = model.get('revealed');
      if (id) {
        void viewer.showNode(id);
      }
    });
  }

  remove(): void {
    this._viewer?.dispose();
    this._viewer = null;
    super.remove();
  }

  /** Sends a change the user made to the kernel. */
  private _save(key: 'selected' | 'expanded', ids: string[]): void {
    this.model.set(key, ids, { origin: this });
    this.model.save_changes();
  }

  /** Opens and closes groups to match `expanded` set from Python or another view. */
  private _followExpanded(expanded: string[]): void {
    const viewer = this._viewer;
    if (!viewer) {
      return;
    }
    const before = new Set(this._expanded);
    const after = new Set(expanded);
    this._expanded = expanded;
    for (const id of before) {
      if (!after.has(id)) {
        void viewer.collapse(id);
      }
    }
    for (const id of after) {
      if (!before.has(id)) {
        void viewer.expand(id);
      }
    }
  }

  private _viewer: GraphViewer | null = null;
  private _expanded: string[] = [];
}

/** Registers the widget module with the Jupyter widget manager, if it is installed. */
export const widgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'onnx-workbench:widget',
  description: 'The GraphView interactive widget (workbench.widgets.GraphView).',
  autoStart: true,
  optional: [IJupyterWidgetRegistry],
  activate: (_app, registry: IJupyterWidgetRegistry | null) => {
    registry?.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { GraphViewModel, GraphViewView }
    });
  }
};
