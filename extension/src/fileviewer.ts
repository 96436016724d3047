/**
 * The `.onnx` file viewer: double-clicking a model in the file browser opens its graph
 * view in a main-area tab. The browser never downloads the model: the document's model
 * factory asks for no content, and the view comes from the server route (source.ts).
 * With two `.onnx` files selected, the file browser's context menu offers "Diff ONNX
 * models", which opens the view of their diff (the route's `diff=`) in a tab of its own.
 *
 * The tab's toolbar has a "Properties" button that opens the model's summary card in a panel
 * above the graph, and the command palette has commands (category "ONNX Workbench") that act
 * on the `.onnx` tab in front: fit, expand, collapse, layout direction, save as SVG or PNG,
 * properties and search.
 */
import { INotebookTree } from '@jupyter-notebook/tree';
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  TextModelFactory
} from '@jupyterlab/docregistry';
import { FileBrowser, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon, ToolbarButton, infoIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { viewerSettings } from './preferences';
import { ServerViewSource } from './source';
import { ISummary, renderSummary } from './summary';
import { GraphViewer, IViewPayload } from './view';

/** The file type, widget factory and model factory names. */
const FILE_TYPE = 'onnx';
const WIDGET_FACTORY = 'ONNX Workbench';
const MODEL_FACTORY = 'onnx-workbench-no-content';

/** The commands on the `.onnx` tab in front, and their category in the command palette. */
export const CommandIds = {
  fit: 'onnx-workbench:fit',
  expandLevel: 'onnx-workbench:expand-level',
  collapseAll: 'onnx-workbench:collapse-all',
  toggleDirection: 'onnx-workbench:toggle-direction',
  saveSvg: 'onnx-workbench:save-svg',
  savePng: 'onnx-workbench:save-png',
  properties: 'onnx-workbench:properties',
  search: 'onnx-workbench:search',
  diff: 'onnx-workbench:diff'
} as const;
const PALETTE_CATEGORY = 'ONNX Workbench';

/** The file browser icon of `.onnx` files: a small graph. */
export const onnxIcon = new LabIcon({
  name: 'onnx-workbench:onnx',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="8" y="1" width="8" height="5" rx="1"/>' +
    '<rect x="1" y="18" width="8" height="5" rx="1"/>' +
    '<rect x="15" y="18" width="8" height="5" rx="1"/>' +
    '<path d="M11 6h2v5h7v7h-2v-5H6v5H4v-7h7z"/>' +
    '</g></svg>'
});

/**
 * A model factory whose documents load no content (`fileFormat: null`): the document
 * context then reads only the file's metadata, however large the model.
 */
class NoContentModelFactory extends TextModelFactory {
  constructor() {
    super(false);
  }

  get name(): string {
    return MODEL_FACTORY;
  }

  get fileFormat(): null {
    return null;
  }
}

/**
 * The tab's content: "Opening model…", then the graph view or the server's error, under a
 * panel of the model's properties (its summary card) that opens and closes. The view takes
 * the keyboard when the tab opens or is activated: JupyterLab focuses this widget's node,
 * which hands the focus on to the view. The same content shows a model file (in a document
 * tab) and the diff of two (in a tab of its own); only its source differs.
 */
export class OnnxViewerContent extends Widget {
  /** Called when the view is drawn and when the properties panel opens or closes. */
  changed: () => void = () => undefined;

  /**
   * @param source - the server route, for one file or a diff of two.
   * @param name - what the tab shows, as an error message names it ("Could not open …").
   */
  constructor(
    private readonly _source: ServerViewSource,
    private readonly _name: () => string
  ) {
    super();
    this.addClass('jp-OnnxWorkbench-fileViewer');
    this.node.tabIndex = -1;
    this.node.addEventListener('focus', () => this._viewer?.focus());
    this._properties = this._propertiesPanel();
    this._body = document.createElement('div');
    this._body.className = 'jp-OnnxWorkbench-fileBody';
    this.node.replaceChildren(this._properties, this._body);
    this._showStatus('Opening model…', false);
    void this._open();
  }

  /** The graph view, once the model is open. */
  get viewer(): GraphViewer | null {
    return this._viewer;
  }

  /** Whether the properties panel is open. */
  get propertiesOpen(): boolean {
    return !this._properties.hidden;
  }

  /** Opens or closes the properties panel (toggles it without `open`). */
  toggleProperties(open = !this.propertiesOpen): void {
    if (open === this.propertiesOpen) {
      return;
    }
    this._properties.hidden = !open;
    this.changed();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (this._viewer) {
      this._viewer.focus();
    } else {
      this.node.focus({ preventScroll: true });
    }
  }

  dispose(): void {
    this._viewer?.dispose();
    this._viewer = null;
    super.dispose();
  }

  private async _open(): Promise<void> {
    try {
      const payload = await this._source.payload();
      if (!this.isDisposed) {
        const host = document.createElement('div');
        // The view takes the focus if the tab had it while "Opening model…" (or nothing had).
        const focused = this.node.contains(document.activeElement);
        this._body.replaceChildren(host);
        this._showProperties(payload);
        this._viewer = new GraphViewer(host, payload, this._source, {}, viewerSettings());
        // Not in a notebook: JupyterLab's own shortcuts (the command palette, close the tab)
        // work here, and it has none of one key that the view's keys would run.
        host.removeAttribute('data-lm-suppress-shortcuts');
        if (this.isVisible && (focused || document.activeElement === document.body)) {
          this._viewer.focus();
        }
        this.changed();
      }
    } catch (error) {
      if (!this.isDisposed) {
        const reason = error instanceof Error ? error.message : String(error);
        this._showStatus(`Could not open ${this._name()}: ${reason}`, true);
      }
    }
  }

  /** The properties panel, closed: a header with a close button over a scrolling body. */
  private _propertiesPanel(): HTMLElement {
    const panel = document.createElement('section');
    panel.className = 'jp-OnnxWorkbench-properties';
    panel.hidden = true;
    panel.setAttribute('aria-label', 'Model properties');
    const header = document.createElement('div');
    header.className = 'jp-OnnxWorkbench-propertiesHeader';
    const title = document.createElement('span');
    title.textContent = 'Model properties';
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'jp-OnnxWorkbench-button jp-OnnxWorkbench-propertiesClose';
    close.textContent = '×';
    close.title = 'Close the model properties';
    close.addEventListener('click', () => {
      this.toggleProperties(false);
      this._viewer?.focus();
    });
    header.append(title, close);
    const body = document.createElement('div');
    body.className = 'jp-OnnxWorkbench-propertiesBody';
    body.textContent = 'Opening model…';
    panel.append(header, body);
    return panel;
  }

  /** Fills the properties panel with the payload's summary card. */
  private _showProperties(payload: IViewPayload): void {
    const body = this._properties.querySelector('.jp-OnnxWorkbench-propertiesBody');
    if (!body) {
      return;
    }
    if (payload.summary) {
      body.replaceChildren(renderSummary(payload.summary as unknown as ISummary));
    } else {
      body.textContent = 'The server sent no summary of this model.';
    }
  }

  private _showStatus(text: string, isError: boolean): void {
    const status = document.createElement('div');
    status.className = 'jp-OnnxWorkbench-status';
    status.style.padding = '1em';
    if (isError) {
      status.classList.add('jp-mod-error');
      status.style.color = 'var(--jp-error-color1)';
    }
    status.textContent = text;
    this._body.replaceChildren(status);
  }

  private readonly _properties: HTMLElement;
  private readonly _body: HTMLDivElement;
  private _viewer: GraphViewer | null = null;
}

/** Creates the viewer tabs of `.onnx` files. */
class OnnxViewerFactory extends ABCWidgetFactory<DocumentWidget<OnnxViewerContent>> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<DocumentWidget<OnnxViewerContent>>,
    private readonly _settings: ServerConnection.ISettings,
    private readonly _changed: () => void
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): DocumentWidget<OnnxViewerContent> {
    const source = new ServerViewSource(() => context.localPath, this._settings);
    const content = new OnnxViewerContent(source, () => context.localPath);
    const widget = new DocumentWidget({ content, context });
    addToolbar(widget, this._changed);
    return widget;
  }
}

/**
 * Gives a viewer tab its icon and its toolbar's "Properties" button, which follows the
 * panel's state; `changed` is called when the content changes (the commands' state follows).
 */
function addToolbar(widget: MainAreaWidget<OnnxViewerContent>, changed: () => void): void {
  const content = widget.content;
  widget.title.icon = onnxIcon;
  const properties = new ToolbarButton({
    icon: infoIcon,
    label: 'Properties',
    className: 'jp-OnnxWorkbench-propertiesButton',
    tooltip: 'Show the model properties',
    pressedTooltip: 'Hide the model properties',
    onClick: () => content.toggleProperties()
  });
  widget.toolbar.addItem('onnx-workbench-properties', properties);
  content.changed = () => {
    properties.pressed = content.propertiesOpen;
    changed();
  };
}

/** The content of the `.onnx` tab (a model's or a diff's) in front, if that is what is in front. */
function currentContent(app: JupyterFrontEnd): OnnxViewerContent | null {
  const widget = app.shell.currentWidget;
  return widget instanceof MainAreaWidget && widget.content instanceof OnnxViewerContent
    ? widget.content
    : null;
}

/**
 * The paths of the files selected in each file browser, in the order they were selected:
 * the first one selected is a diff's `a`. A browser tells that its selection changed but
 * not in what order; this keeps it.
 */
class SelectionOrder {
  constructor(factory: IFileBrowserFactory) {
    const follow = (browser: FileBrowser) =>
      browser.selectionChanged.connect(() => void this.paths(browser));
    factory.tracker.forEach(follow);
    factory.tracker.widgetAdded.connect((_, browser) => follow(browser));
  }

  /**
   * The browser's selected paths, in selection order: those selected before in their order,
   * then the newly selected in the listing's order (a shift-click's range, top to bottom).
   */
  paths(browser: FileBrowser): string[] {
    const selected = Array.from(browser.selectedItems(), item => item.path);
    const before = (this._order.get(browser) ?? []).filter(path => selected.includes(path));
    const order = [...before, ...selected.filter(path => !before.includes(path))];
    this._order.set(browser, order);
    return order;
  }

  private readonly _order = new WeakMap<FileBrowser, string[]>();
}

/**
 * Adds "Diff ONNX models": to the file browser's context menu (shown with exactly two `.onnx`
 * files selected; the first selected is `a`) and to the command palette. With `a` and `b`
 * arguments (paths relative to the server root) it diffs those. It opens the diff's view in
 * a tab titled `a.onnx ↔ b.onnx`, or brings forward the tab already showing it. Diff tabs come
 * back after a reload, as documents do (the layout restorer runs the command again).
 * Notebook 7's file tree page has no room in its main area: there the tab joins the tree's
 * own tabs (Files, Running).
 */
function addDiffCommand(
  app: JupyterFrontEnd,
  factory: IFileBrowserFactory,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null,
  notebookTree: INotebookTree | null
): void {
  const order = new SelectionOrder(factory);
  const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'onnx-workbench-diff' });
  const diffed = new WeakMap<Widget, { a: string; b: string }>();
  void restorer?.restore(tracker, {
    command: CommandIds.diff,
    args: widget => diffed.get(widget) ?? {},
    name: widget => widget.id
  });
  const pair = (args: { [key: string]: unknown }): [string, string] | null => {
    if (typeof args.a === 'string' && typeof args.b === 'string') {
      return [args.a, args.b];
    }
    const browser = factory.tracker.currentWidget;
    const paths = browser ? order.paths(browser) : [];
    return paths.length === 2 && paths.every(path => path.toLowerCase().endsWith('.onnx'))
      ? [paths[0], paths[1]]
      : null;
  };
  app.commands.addCommand(CommandIds.diff, {
    label: 'Diff ONNX models',
    caption: 'Show how two selected .onnx models differ (the first selected is a)',
    icon: onnxIcon,
    isVisible: args => pair(args) !== null,
    isEnabled: args => pair(args) !== null,
    execute: args => {
      const paths = pair(args);
      if (!paths) {
        return;
      }
      const [a, b] = paths;
      const id = `onnx-workbench-diff:${encodeURIComponent(a)}:${encodeURIComponent(b)}`;
      const show = (widget: Widget) => {
        if (notebookTree?.contains(widget)) {
          notebookTree.currentWidget = widget;
        } else {
          app.shell.activateById(widget.id);
        }
      };
      const open = tracker.find(widget => widget.id === id);
      if (open) {
        show(open);
        return;
      }
      const settings = app.serviceManager.serverSettings;
      const source = new ServerViewSource(
        () => a,
        settings,
        () => b
      );
      const content = new OnnxViewerContent(source, () => `the diff of ${a} and ${b}`);
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.label = `${PathExt.basename(a)} ↔ ${PathExt.basename(b)}`;
      widget.title.caption = `${a} ↔ ${b}`;
      widget.title.closable = true;
      addToolbar(widget, () => app.commands.notifyCommandChanged());
      diffed.set(widget, { a, b });
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      if (!widget.isAttached && notebookTree) {
        notebookTree.addWidget(widget); // Notebook 7's tree page keeps its main area to itself
      }
      if (!widget.isAttached) {
        widget.dispose();
        void showErrorMessage(
          'Diff ONNX models',
          'This page has no room for the diff: open the two files in JupyterLab.'
        );
        return;
      }
      show(widget);
    }
  });
  app.contextMenu.addItem({
    command: CommandIds.diff,
    selector: `.jp-DirListing-item[data-file-type="${FILE_TYPE}"]`,
    rank: 3
  });
  palette?.addItem({ command: CommandIds.diff, category: PALETTE_CATEGORY });
}

/** Adds the commands on the `.onnx` tab in front, and puts them in the command palette. */
function addCommands(app: JupyterFrontEnd, palette: ICommandPalette | null): void {
  const viewer = () => currentContent(app)?.viewer ?? null;
  const isEnabled = () => viewer() !== null;
  const save = async (format: 'svg' | 'png') => {
    try {
      await viewer()?.saveAs(format);
    } catch (error) {
      void showErrorMessage(
        `Could not save the graph view as ${format.toUpperCase()}`,
        error instanceof Error ? error : String(error)
      );
    }
  };
  const commands: Array<[string, Parameters<typeof app.commands.addCommand>[1]]> = [
    [CommandIds.fit, { label: 'Fit the graph view', isEnabled, execute: () => viewer()?.fit() }],
    [
      CommandIds.expandLevel,
      { label: 'Expand one more level', isEnabled, execute: () => viewer()?.expandLevel() }
    ],
    [
      CommandIds.collapseAll,
      { label: 'Collapse all groups', isEnabled, execute: () => viewer()?.collapseAll() }
    ],
    [
      CommandIds.toggleDirection,
      {
        label: () =>
          viewer()?.direction === 'LR' ? 'Lay out top to bottom' : 'Lay out left to right',
        caption: 'Switch the graph view between top-to-bottom and left-to-right layouts',
        isEnabled,
        execute: async () => {
          const view = viewer();
          await view?.setDirection(view.direction === 'TB' ? 'LR' : 'TB');
          app.commands.notifyCommandChanged(CommandIds.toggleDirection);
        }
      }
    ],
    [
      CommandIds.saveSvg,
      { label: 'Save the graph view as SVG', isEnabled, execute: () => save('svg') }
    ],
    [
      CommandIds.savePng,
      { label: 'Save the graph view as PNG', isEnabled, execute: () => save('png') }
    ],
    [
      CommandIds.properties,
      {
        label: 'Show model properties',
        caption: "Open or close the panel of the model's properties above the graph",
        isEnabled,
        isToggled: () => currentContent(app)?.propertiesOpen ?? false,
        execute: () => currentContent(app)?.toggleProperties()
      }
    ],
    [
      CommandIds.search,
      {
        label: 'Search the graph',
        caption: 'Search the graph (with a `query` argument: search for it at once)',
        isEnabled,
        execute: args => {
          const view = viewer();
          if (typeof args.query === 'string') {
            view?.search(args.query);
          } else {
            view?.focusSearch();
          }
        }
      }
    ]
  ];
  for (const [id, options] of commands) {
    app.commands.addCommand(id, options);
    palette?.addItem({ command: id, category: PALETTE_CATEGORY });
  }
  app.shell.currentChanged?.connect(() => app.commands.notifyCommandChanged());
}

/**
 * Registers the `onnx` file type, makes the graph view its default viewer, and adds the
 * commands on it and the file browser's "Diff ONNX models".
 */
export const fileViewerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'onnx-workbench:file-viewer',
  description: 'Opens .onnx files in the ONNX Workbench graph view, and diffs two of them.',
  autoStart: true,
  optional: [ICommandPalette, IFileBrowserFactory, ILayoutRestorer, INotebookTree],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    browsers: IFileBrowserFactory | null,
    restorer: ILayoutRestorer | null,
    notebookTree: INotebookTree | null
  ) => {
    const registry = app.docRegistry;
    registry.addModelFactory(new NoContentModelFactory());
    registry.addFileType({
      name: FILE_TYPE,
      displayName: 'ONNX model',
      extensions: ['.onnx'],
      mimeTypes: ['application/octet-stream'],
      icon: onnxIcon,
      contentType: 'file',
      fileFormat: null
    });
    registry.addWidgetFactory(
      new OnnxViewerFactory(
        {
          name: WIDGET_FACTORY,
          label: 'ONNX graph view',
          modelName: MODEL_FACTORY,
          fileTypes: [FILE_TYPE],
          defaultFor: [FILE_TYPE],
          readOnly: true
        },
        app.serviceManager.serverSettings,
        () => app.commands.notifyCommandChanged()
      )
    );
    addCommands(app, palette);
    if (browsers) {
      addDiffCommand(app, browsers, palette, restorer, notebookTree);
    }
  }
};
