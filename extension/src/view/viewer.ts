/**
 * The interactive graph view: lays out the groups of a view payload level by level with
 * Graphviz, draws them as SVG, and handles pan and zoom, expand and collapse, selection
 * and details, search, overlays, subgraph bodies and the keyboard.
 *
 * It knows nothing about JupyterLab: it takes a host element, a payload, an optional
 * source for the parts the payload lacks, and callbacks for what the user does.
 * The viewer coordinates; the parts live beside it: groups.ts (loaded groups),
 * navigation.ts (expansion and roots), scene.ts (the layout queue and the drawing shown),
 * panzoom.ts, toolbar.ts, search.ts, decorate.ts (selection, hits, marks, overlay),
 * keyboard.ts, details.ts, and tree.ts and draw.ts (layout and drawing).
 */
import { CSS } from './css';
import { Decorations, drawGutters, drawnFor, renderLegend } from './decorate';
import { DetailsPanel } from './details';
import { isDiffOverlay } from './diff';
import { html } from './dom';
import { ContextMenu } from './contextmenu';
import { IDrawn, drawnAt, dropEdgeLabels } from './draw';
import { GroupStore, MISSING_GROUP_TEXT } from './groups';
import { warmGraphviz } from './graphviz';
import { ViewCommand, searchCommand, viewCommand } from './keyboard';
import { Minimap } from './minimap';
import { Navigation } from './navigation';
import { LayoutDirection } from './dot';
import { download, fileName, fileSize, pngScale, standaloneSvg, svgToPng } from './export';
import { PanZoom, WheelMode, fitTransform } from './panzoom';
import { Scene } from './scene';
import { IHit, SearchState } from './search';
import { Toolbar } from './toolbar';
import {
  IOverlay,
  IViewPayload,
  IViewSource,
  IViewerCallbacks,
  NodeMark,
  VIEW_SCHEMA_VERSION
} from './types';

warmGraphviz();

/** Options of a viewer that depend on where it is shown. */
export interface IViewerOptions {
  /** The note in an expanded group that is neither in the payload nor available from a source. */
  missingGroupText?: string;
  /**
   * What the mouse wheel does (default `pan`: the wheel pans, ctrl/⌘ + wheel zooms; `zoom`:
   * the reverse), or a function read at each wheel event, for a setting that can change.
   */
  wheel?: WheelMode | (() => WheelMode);
  /** Which way the drawing flows at first (default `TB`, top to bottom; `LR`: left to right). */
  direction?: LayoutDirection | (() => LayoutDirection);
  /**
   * Whether edges carry their tensor shapes as labels (default true; false: no labels, each
   * edge keeps its label as its tooltip), or a function read at each drawing.
   */
  edgeLabels?: boolean | (() => boolean);
}

/**
 * The graph viewer. The host gets `data-state` (`loading`, `layout`, `ready`, `error`),
 * `data-layout-count`, and timings in ms: `data-layout-ms` (the last layout and drawing),
 * `data-dot-ms` (the part dot took) and `data-first-paint-ms` (construction to first drawing).
 */
export class GraphViewer {
  /** Settles after the first layout has been drawn (or failed and said so). */
  readonly ready: Promise<void>;

  private created = performance.now();
  private groups: GroupStore;
  private nav: Navigation;
  private scene: Scene;
  private finder = new SearchState();
  /** The model's title, which names the files the view is saved as. */
  private title = '';
  /** Searches asked of the source so far: only the latest one's answer is shown. */
  private searches = 0;
  private selectedNodes: string[] = [];
  private selectedItem: string | null = null;
  private highlighted: string[] = [];
  private marks: { [nodeId: string]: NodeMark } = {};
  private breakpointClicks = false;
  private overlay: IOverlay | null = null;
  private disposed = false;
  private resizeObserver: ResizeObserver | null = null;

  private toolbar: Toolbar;
  private canvas: HTMLDivElement;
  private svgRoot: SVGSVGElement;
  private legend: HTMLDivElement;
  private panzoom: PanZoom;
  private details: DetailsPanel;
  private decorations: Decorations;

  constructor(
    private host: HTMLElement,
    payload: IViewPayload,
    source: IViewSource | null,
    private callbacks: IViewerCallbacks = {},
    options: IViewerOptions = {}
  ) {
    host.classList.add(`${CSS}viewer`);
    host.tabIndex = 0;
    // Keys typed in the view are the view's: JupyterLab must not run notebook shortcuts.
    host.setAttribute('data-lm-suppress-shortcuts', '');
    host.dataset.state = 'loading';
    host.replaceChildren();

    this.toolbar = new Toolbar({
      previousHit: () => this.stepHit(-1),
      nextHit: () => this.stepHit(1),
      expandLevel: () => this.expandLevel(),
      collapseAll: () => this.collapseAll(),
      zoomIn: () => this.panzoom.zoomBy(1.25),
      zoomOut: () => this.panzoom.zoomBy(0.8),
      fit: () => this.fit(),
      toggleDirection: () => this.toggleDirection(),
      toggleNames: () => this.setNames(!this.scene.names),
      save: format => this.saveAs(format).catch(error => this.toolbar.flash(String(error)))
    });
    const body = html('div', `${CSS}body`);
    this.canvas = html('div', `${CSS}canvas`);
    this.svgRoot = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.svgRoot.setAttribute('class', `${CSS}svg`);
    const viewport = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    this.svgRoot.appendChild(viewport);
    const message = html('div', `${CSS}message`);
    this.legend = html('div', `${CSS}legend`);
    const minimap = new Minimap((x, y) => this.panzoom.centerOnPoint(x, y));
    this.canvas.append(this.svgRoot, message, this.legend, minimap.node);
    this.details = new DetailsPanel();
    body.append(this.canvas, this.details.node);
    host.append(this.toolbar.node, body);
    const wheel = options.wheel ?? 'pan';
    this.panzoom = new PanZoom(
      this.canvas,
      this.svgRoot,
      viewport,
      minimap,
      () => this.focus(),
      typeof wheel === 'function' ? wheel : () => wheel
    );

    this.groups = new GroupStore(
      source,
      payload.details ?? {},
      options.missingGroupText ?? MISSING_GROUP_TEXT,
      () => {
        if (!this.disposed) {
          this.refreshSearch();
          void this.scene.request();
        }
      }
    );
    this.nav = new Navigation(this.groups, payload.root);
    this.details.tensors = this.groups.tensors;
    this.decorations = new Decorations(this.groups);
    this.scene = new Scene({
      host,
      viewport,
      message,
      minimap,
      panzoom: this.panzoom,
      groups: this.groups,
      nav: this.nav,
      created: this.created,
      drawn: drawing => {
        const labels = options.edgeLabels ?? true;
        if (!(typeof labels === 'function' ? labels() : labels)) {
          dropEdgeLabels(drawing);
        }
        drawGutters(drawing, this.breakpointClicks);
        this.decorate();
      }
    });
    this.bindEvents();
    this.title = payload.title;
    const direction = options.direction ?? 'TB';
    this.scene.direction = typeof direction === 'function' ? direction() : direction;
    this.host.dataset.direction = this.scene.direction;
    this.toolbar.setDirection(this.scene.direction);

    if (payload.schema !== VIEW_SCHEMA_VERSION) {
      this.scene.fail(
        `This view uses schema version ${payload.schema}, but the installed extension reads ` +
          `version ${VIEW_SCHEMA_VERSION}. ` +
          'Reinstall onnx-workbench so Python and the extension match.'
      );
      this.ready = Promise.resolve();
      return;
    }
    for (const group of Object.values(payload.groups)) {
      this.groups.add(group);
    }
    for (const id of payload.expanded ?? []) {
      this.nav.setExpanded([id], true);
    }
    this.highlighted = [...(payload.highlighted ?? [])];
    this.marks = { ...(payload.marks ?? {}) };
    this.overlay = payload.overlay ?? null;
    this.renderBreadcrumb();
    renderLegend(this.legend, this.overlay);
    this.details.setOpen(false);
    const selected = payload.selected ?? [];
    this.ready = selected.length ? this.select(selected) : this.scene.request();
  }

  // ---- public API -------------------------------------------------------------------

  /**
   * Selects model nodes; reveals the first (expanding the loaded groups around it), pans to it
   * if it is off screen once drawn, and shows its details.
   */
  select(nodeIds: string[]): Promise<void> {
    this.selectedNodes = [...nodeIds];
    this.selectedItem = null;
    if (!nodeIds.length) {
      this.details.setOpen(false);
      this.decorate();
      return this.scene.settled;
    }
    const first = nodeIds[0];
    // Pans (gliding) to the node once drawn, if off screen: its groups may still be loading.
    this.scene.showNode(first);
    this.reveal(this.groups.groupOfNode(first));
    this.showDetails(first);
    return this.scene.request();
  }

  /** Outlines model nodes (or the collapsed groups that hold them). */
  highlight(nodeIds: string[]): void {
    this.highlighted = [...nodeIds];
    this.decorate();
  }

  /** Draws a badge on each marked node (or on the collapsed group that holds it). */
  setMarks(marks: { [nodeId: string]: NodeMark }): void {
    this.marks = { ...marks };
    this.decorate();
  }

  /**
   * Turns on (or off) breakpoint clicks: a click on a node's left edge or badge, or `b` on
   * the selected node, then calls `breakpointToggled` instead of selecting.
   */
  setBreakpointClicks(enabled: boolean): void {
    this.breakpointClicks = enabled;
    this.svgRoot.classList.toggle(`${CSS}breakpointClicks`, enabled);
    if (this.scene.drawing) {
      drawGutters(this.scene.drawing, this.breakpointClicks);
    }
  }

  /**
   * Brings a model node into view without selecting it: expands the loaded groups around
   * it, and pans to it if it is off screen once drawn (after groups still loading arrive).
   */
  showNode(nodeId: string): Promise<void> {
    this.scene.showNode(nodeId);
    this.reveal(this.groups.groupOfNode(nodeId));
    return this.scene.request();
  }

  /** Colours nodes and groups by value; null removes the overlay. */
  setOverlay(overlay: IOverlay | null): void {
    this.overlay = overlay;
    renderLegend(this.legend, this.overlay);
    this.decorate();
  }

  /** Expands a group (loading it from the source if needed). */
  expand(groupId: string): Promise<void> {
    return this.setExpanded([groupId], true);
  }

  /** Collapses a group. */
  collapse(groupId: string): Promise<void> {
    return this.setExpanded([groupId], false);
  }

  /** Zooms and pans so the whole drawing fits the view. */
  fit(): void {
    if (this.scene.drawing) {
      const { width, height } = this.scene.drawing;
      this.panzoom.set(fitTransform(this.panzoom.size(), width, height));
    }
  }

  /**
   * Searches the loaded groups of the current graph and returns the number of their hits;
   * where groups are not loaded and the source can search, the whole model's hits follow.
   * With `jump` (the default) it goes to the first hit; an empty query clears the search.
   */
  search(query: string, jump = true): number {
    const input = this.toolbar.searchInput;
    if (input.value !== query) {
      input.value = query;
    }
    this.finder.run(query, this.nav.rootId, id => this.groups.get(id));
    this.searches += 1; // an answer still on its way is for an older query
    this.searchModel(query, jump && !this.finder.count);
    this.renderCounter();
    if (jump && this.finder.count) {
      this.stepHit(1);
    } else {
      this.decorate();
    }
    return this.finder.count;
  }

  /** Shows the body of a subgraph or function (a root group) in place of the current graph. */
  enter(groupId: string, label?: string): Promise<void> {
    this.nav.enter(groupId, label, this.panzoom.transform);
    return this.showRoot();
  }

  /** Which way the drawing flows: top to bottom (`TB`) or left to right (`LR`). */
  get direction(): LayoutDirection {
    return this.scene.direction;
  }

  /** Lays the drawing out top to bottom (`TB`) or left to right (`LR`), and shows it anew. */
  setDirection(direction: LayoutDirection): Promise<void> {
    return this.redrawIf(direction !== this.scene.direction, () => {
      this.scene.direction = direction;
      this.host.dataset.direction = direction;
      this.toolbar.setDirection(direction);
      this.scene.resetView(false);
    });
  }

  /** Whether node boxes show their names under their op types. */
  get names(): boolean {
    return this.scene.names;
  }

  /** Shows (or hides) each node's name on its box, as Netron's "show names" does. */
  setNames(on: boolean): Promise<void> {
    return this.redrawIf(on !== this.scene.names, () => {
      this.scene.names = on;
      this.host.dataset.names = String(on);
      this.toolbar.setNames(on);
    });
  }

  /** Applies a drawing option that changed (the scene, the host's data, the toolbar) and draws
   * anew; one that did not change waits for the drawing under way. */
  private redrawIf(changed: boolean, apply: () => void): Promise<void> {
    if (!changed) {
      return this.scene.settled;
    }
    apply();
    return this.scene.request();
  }

  /** Switches between top-to-bottom and left-to-right layouts. */
  toggleDirection(): Promise<void> {
    return this.setDirection(this.scene.direction === 'TB' ? 'LR' : 'TB');
  }

  /**
   * The drawing shown (groups open as they are now) as a standalone SVG document with its
   * styles inlined, or null before the first layout.
   */
  exportSvg(): string | null {
    const drawing = this.scene.drawing;
    if (!drawing) {
      return null;
    }
    const background = getComputedStyle(this.canvas).backgroundColor;
    const paint = !background || background === 'rgba(0, 0, 0, 0)' ? '#ffffff' : background;
    return standaloneSvg(drawing.root, drawing.width, drawing.height, paint);
  }

  /** Downloads the drawing shown as `<model>.svg` or `<model>.png` (twice the screen's scale). */
  async saveAs(format: 'svg' | 'png'): Promise<void> {
    await this.scene.settled;
    const text = this.exportSvg();
    const drawing = this.scene.drawing;
    if (text === null || !drawing) {
      throw new Error('nothing is drawn yet');
    }
    if (format === 'svg') {
      download(new Blob([text], { type: 'image/svg+xml' }), fileName(this.title, 'svg'));
      return;
    }
    const size = fileSize(drawing.width, drawing.height);
    const scale = pngScale(drawing.width, drawing.height, 2);
    download(await svgToPng(text, size.width, size.height, scale), fileName(this.title, 'png'));
  }

  /** Gives the view the keyboard focus (without scrolling the page). */
  focus(): void {
    this.host.focus({ preventScroll: true });
  }

  /** Puts the keyboard in the search box, its text selected. */
  focusSearch(): void {
    this.toolbar.searchInput.focus();
    this.toolbar.searchInput.select();
  }

  /** Frees the view's listeners and empties the host. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.scene.dispose();
    this.panzoom.dispose();
    this.resizeObserver?.disconnect();
    this.host.replaceChildren();
    this.host.classList.remove(`${CSS}viewer`);
  }

  // ---- expansion and roots --------------------------------------------------------------

  /** Expands every group from `groupId` up to the current root, so its items are drawn. */
  private reveal(groupId: string | undefined): void {
    const { expanded, rootChanged } = this.nav.reveal(groupId, this.panzoom.transform);
    if (rootChanged) {
      this.scene.resetView(false);
      this.renderBreadcrumb();
    }
    if (expanded) {
      this.callbacks.expandedChanged?.(this.nav.expandedList());
    }
  }

  private setExpanded(groupIds: string[], expand: boolean): Promise<void> {
    const wasFitted = this.scene.fitted;
    if (!this.nav.setExpanded(groupIds, expand)) {
      return this.scene.settled;
    }
    this.scene.refitAfter(wasFitted);
    if (groupIds.length === 1 && groupIds[0]) {
      this.scene.anchorAt(groupIds[0]);
    }
    this.callbacks.expandedChanged?.(this.nav.expandedList());
    return this.scene.request();
  }

  private showRoot(): Promise<void> {
    this.scene.resetView(true);
    this.renderBreadcrumb();
    this.refreshSearch();
    return this.scene.request();
  }

  private backTo(depth: number): void {
    if (this.nav.backTo(depth, this.panzoom.transform)) {
      void this.showRoot();
    }
  }

  private renderBreadcrumb(): void {
    this.toolbar.renderBreadcrumb(this.nav.roots, depth => this.backTo(depth));
  }

  // ---- drawing -------------------------------------------------------------------

  /** Re-applies every state class, badge and overlay colour to the current drawing. */
  private decorate(): void {
    if (!this.scene.drawing) {
      return;
    }
    this.decorations.apply(this.scene.drawing, {
      selectedNodes: this.selectedNodes,
      selectedItem: this.selectedItem,
      highlighted: this.highlighted,
      marks: this.marks,
      searchResult: this.finder.result,
      hitIndex: this.finder.index,
      overlay: this.overlay
    });
    const diff = isDiffOverlay(this.overlay);
    this.svgRoot.classList.toggle(`${CSS}withOverlay`, !!this.overlay && !diff);
    this.svgRoot.classList.toggle(`${CSS}withDiff`, diff);
  }

  // ---- selection, details and search -----------------------------------------------------

  /** The user clicked an item. */
  private activate(drawn: IDrawn): void {
    const item = drawn.item;
    if (item.kind === 'group') {
      this.selectedItem = item.id;
      void this.setExpanded([item.group], !this.nav.isExpanded(item.group));
      return;
    }
    if (item.kind === 'node' || item.kind === 'ref') {
      this.selectedNodes = [item.node];
      this.selectedItem = null;
      this.showDetails(item.node);
      this.decorate();
      this.callbacks.selectionChanged?.([item.node]);
    } else {
      this.selectedNodes = [];
      this.selectedItem = item.id;
      this.details.setOpen(false);
      this.decorate();
      this.callbacks.selectionChanged?.([]);
    }
  }

  private clearSelection(): void {
    const had = this.selectedNodes.length > 0;
    this.selectedNodes = [];
    this.selectedItem = null;
    this.details.setOpen(false);
    this.decorate();
    if (had) {
      this.callbacks.selectionChanged?.([]);
    }
  }

  private showDetails(nodeId: string): void {
    const bodies = this.groups.bodiesOf(nodeId);
    this.details.show(nodeId, this.groups.details(nodeId), bodies, (gid, label) => {
      void this.enter(gid, label);
    });
  }

  private renderCounter(): void {
    this.toolbar.renderCounter(this.finder.result, this.finder.index, this.finder.error);
  }

  /** Recomputes the hits after groups arrived or the root changed, staying on the current hit. */
  private refreshSearch(): void {
    const query = this.toolbar.searchInput.value;
    if (this.finder.refresh(query, this.nav.rootId, id => this.groups.get(id))) {
      this.renderCounter();
    }
  }

  /** Moves to the next (1) or previous (-1) hit, expanding the groups around it. */
  private stepHit(step: number): void {
    const hit = this.finder.step(step);
    if (!hit) {
      return;
    }
    this.renderCounter();
    const missing = hit.chain?.filter(id => !this.groups.get(id)) ?? [];
    if (!missing.length) {
      this.showHit(hit);
      return;
    }
    // A hit the source found in groups not loaded yet: fetch them, then open them.
    void this.groups.loadChain(missing).then(() => {
      if (!this.disposed && this.finder.result?.hits[this.finder.index] === hit) {
        this.showHit(hit);
      }
    });
  }

  /** Expands the groups around a hit and centres it once drawn. */
  private showHit(hit: IHit): void {
    this.reveal(hit.groupId);
    void this.scene.request().then(() => {
      const drawn = this.scene.drawing?.byId.get(hit.itemId);
      if (drawn) {
        this.panzoom.centerOnBox(drawn.box);
      }
    });
  }

  /**
   * Asks the source to search the whole model, and shows its hits in place of the loaded ones (going to the first with `jump` when the loaded
   * groups had none). An answer to an older query is dropped.
   */
  private searchModel(query: string, jump: boolean): void {
    const result = this.finder.result;
    // Asked even when every group is loaded: the source also matches the values nodes read
    // and write, which the items here do not carry.
    const answer = result ? this.groups.search(query.trim()) : null;
    if (!result || !answer) {
      return;
    }
    result.pending = true;
    const asked = this.searches; // search() counted this query
    answer.then(
      found => {
        if (this.disposed || asked !== this.searches) {
          return;
        }
        this.finder.adopt(found);
        this.renderCounter();
        if (jump && this.finder.index < 0 && this.finder.count) {
          this.stepHit(1);
        } else {
          this.decorate();
        }
      },
      () => {
        if (!this.disposed && asked === this.searches) {
          result.pending = false; // the loaded groups' hits stand
          this.renderCounter();
        }
      }
    );
  }

  // ---- commands -----------------------------------------------------------------------

  /** Expands the selected group, or else every collapsed group at the shallowest drawn depth. */
  expandLevel(): void {
    const drawing = this.scene.drawing;
    if (drawing) {
      void this.setExpanded(this.nav.levelToExpand(drawing, this.selectedItem), true);
    }
  }

  /** Collapses the selected group or the group holding the selection, else everything. */
  private collapseSelected(): void {
    const drawing = this.scene.drawing;
    const selected = this.selectedItem ? drawing?.byId.get(this.selectedItem) : undefined;
    if (selected && selected.item.kind === 'group' && this.nav.isExpanded(selected.item.group)) {
      void this.setExpanded([selected.item.group], false);
      return;
    }
    const holder =
      selected ??
      (this.selectedNodes.length
        ? drawnFor(drawing, this.groups, this.selectedNodes[0])[0]
        : undefined);
    if (holder && holder.groupId !== this.nav.rootId) {
      this.selectedItem = drawing?.byGroup.get(holder.groupId)?.item.id ?? null;
      void this.setExpanded([holder.groupId], false);
      return;
    }
    this.collapseAll();
  }

  /** Collapses every group. */
  collapseAll(): void {
    void this.setExpanded(this.nav.expandedList(), false);
  }

  /** Runs what a key pressed in the view asks for. */
  private run(command: ViewCommand): void {
    const commands: { [C in ViewCommand]: () => unknown } = {
      focusSearch: () => this.focusSearch(),
      fit: () => this.fit(),
      expandLevel: () => this.expandLevel(),
      collapse: () => this.collapseSelected(),
      toggleBreakpoint: () => this.callbacks.breakpointToggled?.(this.selectedNodes[0]),
      zoomIn: () => this.panzoom.zoomBy(1.25),
      zoomOut: () => this.panzoom.zoomBy(0.8),
      escape: () => (this.finder.result ? this.search('') : this.clearSelection()),
      back: () => this.backTo(this.nav.roots.length - 2),
      direction: () => this.toggleDirection(),
      names: () => this.setNames(!this.scene.names)
    };
    commands[command]();
  }

  // ---- events -------------------------------------------------------------------------

  private bindEvents(): void {
    const input = this.toolbar.searchInput;
    this.canvas.addEventListener('click', this.onClick);
    this.canvas.addEventListener('dblclick', this.onDoubleClick);
    const menu = new ContextMenu(this.host, {
      itemAt: target => drawnAt(this.scene.drawing, target),
      isExpanded: id => this.nav.isExpanded(id),
      opOf: id => this.groups.nodeItem(id)?.op,
      details: id => this.groups.details(id),
      search: query => void this.search(query),
      select: drawn => this.activate(drawn),
      setExpanded: (id, open) => void this.setExpanded([id], open),
      focus: () => this.focus()
    });
    this.canvas.addEventListener('contextmenu', menu.openAt);
    this.host.addEventListener('keydown', this.onKeyDown);
    input.addEventListener('input', () => this.search(input.value, false));
    input.addEventListener('keydown', this.onSearchKey);
    this.resizeObserver = new ResizeObserver(() => this.scene.resized());
    this.resizeObserver.observe(this.canvas);
  }

  private onClick = (event: MouseEvent): void => {
    if (this.panzoom.takeDrag()) {
      return;
    }
    if (!(event.target instanceof Element) || !this.svgRoot.contains(event.target)) {
      return;
    }
    const drawn = drawnAt(this.scene.drawing, event.target);
    const onEdge = event.target.closest(`.${CSS}gutter, .${CSS}breakpoint:not(.${CSS}inside)`);
    if (drawn && onEdge && this.breakpointClicks && drawn.item.kind === 'node') {
      this.callbacks.breakpointToggled?.(drawn.item.node);
    } else if (drawn) {
      this.activate(drawn);
    } else {
      this.clearSelection();
    }
  };

  private onDoubleClick = (event: MouseEvent): void => {
    const drawn = drawnAt(this.scene.drawing, event.target);
    if (drawn && drawn.item.kind === 'node' && drawn.item.graphs?.length) {
      const [label, gid] = this.groups.bodiesOf(drawn.item.node)[0] ?? drawn.item.graphs[0];
      void this.enter(gid, label);
    } else if (drawn && drawn.item.kind === 'group') {
      this.panzoom.centerOnBox(drawn.box);
    }
  };

  private onSearchKey = (event: KeyboardEvent): void => {
    const command = searchCommand(event);
    if (command === 'next' || command === 'previous') {
      event.preventDefault();
      this.stepHit(command === 'next' ? 1 : -1);
    } else if (command === 'clear') {
      event.preventDefault();
      this.search('');
      this.host.focus({ preventScroll: true });
    }
    event.stopPropagation();
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    const target = event.target;
    if (target !== this.host && target instanceof HTMLElement && target.closest('input, button')) {
      return;
    }
    const command = viewCommand(event, this.breakpointClicks && this.selectedNodes.length > 0);
    if (command !== null) {
      this.run(command);
      event.preventDefault();
      event.stopPropagation();
    }
  };
}
