/**
 * The interactive graph view: lays out the groups of a view payload level by level with
 * Graphviz, draws them as SVG, and handles pan and zoom, expand and collapse, selection
 * and details, search, overlays, subgraph bodies and the keyboard.
 *
 * It knows nothing about JupyterLab: it takes a host element, a payload, an optional
 * source for the parts the payload lacks, and callbacks for what the user does.
 */
import { IBox } from './dot';
import { button, html, svg } from './dom';
import { BodyLink, renderDetails } from './details';
import { CSS, IDrawing, IDrawn, drawTree } from './draw';
import { graphviz, warmGraphviz } from './graphviz';
import { Minimap } from './minimap';
import { scaleColor, scaleGradient, scaleTextDark } from './palette';
import { ISearchResult, matcher, searchTree } from './search';
import { setFontFamily } from './shapes';
import { ILevel, LayoutTree } from './tree';
import {
  IDetails,
  IGroup,
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
}

/** The view's pan and zoom: screen = drawing × k + (x, y). */
interface ITransform {
  k: number;
  x: number;
  y: number;
}

/** A point of the drawing that must stay put on screen across a re-layout. */
interface IAnchor {
  itemId: string;
  screenX: number;
  screenY: number;
}

/** A root the view can show: the main graph or an entered subgraph/function body. */
interface IRoot {
  id: string;
  label: string;
}

const MIN_ZOOM = 0.02;
const MAX_ZOOM = 4;
const READABLE_ZOOM = 0.6;
/** Below this zoom, edge labels are hidden: too small to read. */
const FAR_ZOOM = 0.45;
const DRAG_THRESHOLD = 4;
/** Width of a node's left edge that toggles its breakpoint, while breakpoint clicks are on. */
const GUTTER = 12;
/** Radius of the badge drawn at a marked node's left edge. */
const BADGE_RADIUS = 5;

/**
 * The graph viewer. The host gets `data-state` (`loading`, `layout`, `ready`, `error`),
 * `data-layout-count`, and timings in ms: `data-layout-ms` (the last layout and drawing),
 * `data-dot-ms` (the part dot took) and `data-first-paint-ms` (construction to first drawing).
 */
export class GraphViewer {
  /** Settles after the first layout has been drawn (or failed and said so). */
  readonly ready: Promise<void>;

  private groups = new Map<string, IGroup>();
  private loads = new Map<string, Promise<IGroup | null>>();
  private loadErrors = new Map<string, string>();
  private parentOf = new Map<string, string>();
  private nodeGroup = new Map<string, string>();
  private detailsCache = new Map<string, Promise<IDetails>>();
  private expanded = new Set<string>();
  private roots: IRoot[];
  private rootViews = new Map<string, ITransform>();
  private selectedNodes: string[] = [];
  private selectedItem: string | null = null;
  private highlighted: string[] = [];
  private marks: { [nodeId: string]: NodeMark } = {};
  private badges: SVGElement[] = [];
  private breakpointClicks = false;
  private pendingShow: string | null = null;
  private overlay: IOverlay | null = null;
  private searchResult: ISearchResult | null = null;
  private hitIndex = -1;
  private drawing: IDrawing | null = null;
  private transform: ITransform = { k: 1, x: 0, y: 0 };
  private tree: LayoutTree;
  private layoutQueued = false;
  private layoutChain: Promise<void> = Promise.resolve();
  private anchor: IAnchor | null = null;
  private needsInitialView = true;
  private layoutCount = 0;
  private created = performance.now();
  private disposed = false;
  private dragged = false;
  private resizeObserver: ResizeObserver | null = null;
  private stopDrag: (() => void) | null = null;

  private toolbar: HTMLDivElement;
  private breadcrumb: HTMLDivElement;
  private searchInput: HTMLInputElement;
  private counter: HTMLSpanElement;
  private canvas: HTMLDivElement;
  private svgRoot: SVGSVGElement;
  private viewport: SVGGElement;
  private message: HTMLDivElement;
  private legend: HTMLDivElement;
  private minimap: Minimap;
  private details: HTMLDivElement;
  private detailsContent: HTMLDivElement;

  constructor(
    private host: HTMLElement,
    private payload: IViewPayload,
    private source: IViewSource | null,
    private callbacks: IViewerCallbacks = {},
    private options: IViewerOptions = {}
  ) {
    host.classList.add(`${CSS}viewer`);
    host.tabIndex = 0;
    // Keys typed in the view are the view's: JupyterLab must not run notebook shortcuts.
    host.setAttribute('data-lm-suppress-shortcuts', '');
    host.dataset.state = 'loading';
    host.replaceChildren();

    this.toolbar = html('div', `${CSS}toolbar`);
    this.breadcrumb = html('div', `${CSS}breadcrumb`);
    this.searchInput = html('input', `${CSS}search`);
    this.searchInput.type = 'search';
    this.searchInput.placeholder = 'search name, op, id  (/regex/)';
    this.searchInput.spellcheck = false;
    this.counter = html('span', `${CSS}counter`);
    this.toolbar.append(
      this.breadcrumb,
      html('div', `${CSS}spacer`),
      this.searchInput,
      this.counter,
      button(`${CSS}prev`, '↑', 'previous hit (Shift+Enter)', () => this.stepHit(-1)),
      button(`${CSS}next`, '↓', 'next hit (Enter)', () => this.stepHit(1)),
      html('span', `${CSS}separator`),
      button(`${CSS}expandAll`, '⊞', 'expand one more level (e)', () => this.expandLevel()),
      button(`${CSS}collapseAll`, '⊟', 'collapse all (c)', () => this.collapseAll()),
      button(`${CSS}zoomIn`, '+', 'zoom in (+)', () => this.zoomBy(1.25)),
      button(`${CSS}zoomOut`, '−', 'zoom out (-)', () => this.zoomBy(0.8)),
      button(`${CSS}fit`, '⤢', 'fit to screen (f)', () => this.fit())
    );

    const body = html('div', `${CSS}body`);
    this.canvas = html('div', `${CSS}canvas`);
    this.svgRoot = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.svgRoot.setAttribute('class', `${CSS}svg`);
    this.viewport = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    this.svgRoot.appendChild(this.viewport);
    this.message = html('div', `${CSS}message`);
    this.legend = html('div', `${CSS}legend`);
    this.minimap = new Minimap((x, y) => this.centerOnPoint(x, y));
    this.canvas.append(this.svgRoot, this.message, this.legend, this.minimap.node);
    this.details = html('div', `${CSS}details`);
    const detailsHead = html('div', `${CSS}detailsHead`);
    detailsHead.append(
      html('span', undefined, 'details'),
      button(`${CSS}close`, '×', 'close details', () => this.setDetailsOpen(false))
    );
    this.detailsContent = html('div', `${CSS}detailsContent`);
    this.details.append(detailsHead, this.detailsContent);
    body.append(this.canvas, this.details);
    host.append(this.toolbar, body);

    this.roots = [{ id: payload.root, label: 'main graph' }];
    this.tree = new LayoutTree({
      group: id => this.groups.get(id),
      isExpanded: id => this.expanded.has(id),
      note: id => this.note(id)
    });
    this.bindEvents();

    if (payload.schema !== VIEW_SCHEMA_VERSION) {
      this.fail(
        `This view uses schema version ${payload.schema}, but the installed extension reads ` +
          `version ${VIEW_SCHEMA_VERSION}. ` +
          'Reinstall onnx-workbench so Python and the extension match.'
      );
      this.ready = Promise.resolve();
      return;
    }
    for (const group of Object.values(payload.groups)) {
      this.addGroup(group);
    }
    for (const id of payload.expanded ?? []) {
      this.expanded.add(id);
      this.load(id);
    }
    this.highlighted = [...(payload.highlighted ?? [])];
    this.marks = { ...(payload.marks ?? {}) };
    this.overlay = payload.overlay ?? null;
    this.renderBreadcrumb();
    this.renderLegend();
    this.setDetailsOpen(false);
    const selected = payload.selected ?? [];
    this.ready = selected.length ? this.select(selected) : this.requestLayout();
  }

  // ---- public API -------------------------------------------------------------------

  /** Selects model nodes; reveals the first (expanding groups around it) and shows its details. */
  select(nodeIds: string[]): Promise<void> {
    this.selectedNodes = [...nodeIds];
    this.selectedItem = null;
    if (!nodeIds.length) {
      this.setDetailsOpen(false);
      this.decorate();
      return this.layoutChain;
    }
    const first = nodeIds[0];
    this.reveal(this.nodeGroup.get(first));
    this.showDetails(first);
    return this.requestLayout().then(() => {
      const drawn = this.drawing?.byNode.get(first)?.find(d => d.item.kind === 'node');
      if (drawn) {
        this.centerOnBox(drawn.box);
      }
    });
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
    if (this.drawing) {
      this.drawGutters(this.drawing);
    }
  }

  /**
   * Brings a model node into view without selecting it: expands the loaded groups around
   * it, and pans to it if it is off screen once drawn (after groups still loading arrive).
   */
  showNode(nodeId: string): Promise<void> {
    this.pendingShow = nodeId;
    this.reveal(this.nodeGroup.get(nodeId));
    return this.requestLayout();
  }

  /** Colours nodes and groups by value; null removes the overlay. */
  setOverlay(overlay: IOverlay | null): void {
    this.overlay = overlay;
    this.renderLegend();
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
    if (!this.drawing) {
      return;
    }
    const { width, height } = this.canvasSize();
    const w = Math.max(this.drawing.width, 1);
    const h = Math.max(this.drawing.height, 1);
    const k = Math.min((width - 40) / w, (height - 40) / h, 1.5);
    this.setTransform({ k, x: (width - w * k) / 2, y: (height - h * k) / 2 });
  }

  /**
   * Searches the loaded groups of the current graph and returns the number of hits.
   * With `jump` (the default) it goes to the first hit; an empty query clears the search.
   */
  search(query: string, jump = true): number {
    if (this.searchInput.value !== query) {
      this.searchInput.value = query;
    }
    const q = query.trim();
    if (!q) {
      this.searchResult = null;
      this.hitIndex = -1;
      this.renderCounter(null);
      this.decorate();
      return 0;
    }
    const match = matcher(q);
    this.searchResult = searchTree(this.rootId, id => this.groups.get(id), match);
    this.hitIndex = -1;
    this.renderCounter(match.error);
    if (jump && this.searchResult.hits.length) {
      this.stepHit(1);
    } else {
      this.decorate();
    }
    return this.searchResult.hits.length;
  }

  /** Shows the body of a subgraph or function (a root group) in place of the current graph. */
  enter(groupId: string, label?: string): Promise<void> {
    this.rootViews.set(this.rootId, { ...this.transform });
    this.roots.push({ id: groupId, label: rootLabel(this.groups.get(groupId), label) ?? groupId });
    return this.showRoot();
  }

  /** Frees the view's listeners and empties the host. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.stopDrag?.();
    this.resizeObserver?.disconnect();
    this.host.replaceChildren();
    this.host.classList.remove(`${CSS}viewer`);
  }

  // ---- groups and loading --------------------------------------------------------------

  private get rootId(): string {
    return this.roots[this.roots.length - 1].id;
  }

  private addGroup(group: IGroup): void {
    this.groups.set(group.id, group);
    if (group.parent) {
      this.parentOf.set(group.id, group.parent);
    }
    for (const item of group.items) {
      if (item.kind === 'node') {
        this.nodeGroup.set(item.node, group.id);
      } else if (item.kind === 'group') {
        this.parentOf.set(item.group, group.id);
      }
    }
  }

  /** Starts loading a group that the payload lacks; re-lays out when it arrives. */
  private load(groupId: string): void {
    if (this.groups.has(groupId) || this.loads.has(groupId) || !this.source) {
      return;
    }
    this.loadErrors.delete(groupId);
    const loading = this.source.group(groupId).then(
      group => {
        this.addGroup(group);
        return group;
      },
      (error: unknown) => {
        this.loadErrors.set(groupId, error instanceof Error ? error.message : String(error));
        return null;
      }
    );
    this.loads.set(groupId, loading);
    void loading.then(() => {
      this.loads.delete(groupId);
      if (!this.disposed) {
        this.refreshSearch();
        void this.requestLayout();
      }
    });
  }

  /** The note in an expanded group that cannot be drawn (yet), else null. */
  private note(groupId: string): string | null {
    if (!this.expanded.has(groupId) || this.groups.has(groupId)) {
      return null;
    }
    if (this.loads.has(groupId)) {
      return 'loading…';
    }
    const error = this.loadErrors.get(groupId);
    if (error !== undefined) {
      return `could not load: ${error}`;
    }
    return this.options.missingGroupText ?? 'not in this view';
  }

  /** Expands every group from `groupId` up to the current root, so its items are drawn. */
  private reveal(groupId: string | undefined): void {
    const chain: string[] = [];
    let id = groupId;
    const seen = new Set<string>();
    while (id !== undefined && !seen.has(id)) {
      seen.add(id);
      chain.push(id);
      id = this.parentOf.get(id);
    }
    const top = chain[chain.length - 1];
    if (top !== undefined && top !== this.rootId && !this.roots.some(r => r.id === top)) {
      // The node lives in another graph (e.g. a subgraph body): show that graph.
      this.rootViews.set(this.rootId, { ...this.transform });
      const group = this.groups.get(top);
      this.roots = [this.roots[0]];
      if (top !== this.roots[0].id) {
        this.roots.push({ id: top, label: rootLabel(group) ?? top });
      }
      this.needsInitialView = true;
      this.renderBreadcrumb();
    } else if (top !== undefined && top !== this.rootId) {
      this.roots = this.roots.slice(0, this.roots.findIndex(r => r.id === top) + 1);
      this.needsInitialView = true;
      this.renderBreadcrumb();
    }
    let changed = false;
    for (const gid of chain) {
      if (gid !== this.rootId && !this.expanded.has(gid)) {
        this.expanded.add(gid);
        this.load(gid);
        changed = true;
      }
    }
    if (changed) {
      this.callbacks.expandedChanged?.(this.expandedList());
    }
  }

  private expandedList(): string[] {
    return [...this.expanded].sort();
  }

  private setExpanded(groupIds: string[], expand: boolean, anchorId?: string): Promise<void> {
    let changed = false;
    for (const id of groupIds) {
      if (expand && !this.expanded.has(id)) {
        this.expanded.add(id);
        this.load(id);
        changed = true;
      } else if (!expand && this.expanded.delete(id)) {
        changed = true;
      }
    }
    if (!changed) {
      return this.layoutChain;
    }
    const anchorItem = anchorId ?? (groupIds.length === 1 ? groupIds[0] : undefined);
    const drawn = anchorItem ? this.drawing?.byGroup.get(anchorItem) : undefined;
    if (drawn) {
      const t = this.transform;
      this.anchor = {
        itemId: drawn.item.id,
        screenX: drawn.box.x * t.k + t.x,
        screenY: drawn.box.y * t.k + t.y
      };
    }
    this.callbacks.expandedChanged?.(this.expandedList());
    return this.requestLayout();
  }

  // ---- layout and drawing -------------------------------------------------------------

  /** Schedules one layout pass (requests made before it starts share it). */
  private requestLayout(): Promise<void> {
    if (!this.layoutQueued) {
      this.layoutQueued = true;
      this.host.dataset.state = 'layout';
      this.layoutChain = this.layoutChain.then(() => {
        this.layoutQueued = false;
        return this.layout();
      });
    }
    return this.layoutChain;
  }

  private async layout(): Promise<void> {
    let gv;
    try {
      gv = await graphviz();
    } catch (error) {
      this.fail(`Could not load the Graphviz layout engine: ${(error as Error).message}`);
      return;
    }
    if (this.disposed) {
      return;
    }
    const start = performance.now();
    setFontFamily(getComputedStyle(this.host).fontFamily);
    let level: ILevel | null;
    try {
      level = this.tree.layout(gv, this.rootId);
    } catch (error) {
      this.fail(`Layout failed: ${(error as Error).message}`);
      return;
    }
    this.viewport.replaceChildren();
    this.drawing = null;
    if (!level) {
      this.load(this.rootId);
      const error = this.loadErrors.get(this.rootId);
      this.message.textContent = this.loads.has(this.rootId)
        ? 'loading…'
        : error !== undefined
          ? `could not load: ${error}`
          : (this.options.missingGroupText ?? 'not in this view');
      this.finishLayout(start, 0);
      return;
    }
    this.message.textContent = '';
    const drawing = drawTree(level, id => this.note(id));
    this.viewport.appendChild(drawing.root);
    this.drawing = drawing;
    this.drawGutters(drawing);
    this.decorate();
    this.minimap.setContent(
      drawing.width,
      drawing.height,
      drawing.items.map(d => ({ box: d.box, frame: d.expanded }))
    );
    this.placeView();
    this.finishShowNode();
    this.finishLayout(start, this.tree.dotMs);
  }

  private finishLayout(start: number, dotMs: number): void {
    this.layoutCount += 1;
    if (this.layoutCount === 1) {
      this.host.dataset.firstPaintMs = (performance.now() - this.created).toFixed(1);
    }
    this.host.dataset.layoutMs = (performance.now() - start).toFixed(1);
    this.host.dataset.dotMs = dotMs.toFixed(1);
    this.host.dataset.layoutCount = String(this.layoutCount);
    this.host.dataset.state = 'ready';
  }

  private fail(text: string): void {
    this.message.textContent = text;
    this.message.classList.add(`${CSS}error`);
    this.host.dataset.state = 'error';
  }

  /** After a layout: keep the anchor in place, or set up the first view of a root. */
  private placeView(): void {
    const anchor = this.anchor;
    this.anchor = null;
    const drawn = anchor ? this.drawing?.byId.get(anchor.itemId) : undefined;
    if (anchor && drawn) {
      const k = this.transform.k;
      this.setTransform({
        k,
        x: anchor.screenX - drawn.box.x * k,
        y: anchor.screenY - drawn.box.y * k
      });
    } else if (this.needsInitialView) {
      this.initialView();
    } else {
      this.updateMinimapViewport();
    }
  }

  /** Pans to the node `showNode` asked for, once drawn; gives up when nothing is loading. */
  private finishShowNode(): void {
    const nodeId = this.pendingShow;
    if (nodeId === null) {
      return;
    }
    const drawn = this.drawing?.byNode.get(nodeId)?.find(d => d.item.kind === 'node');
    if (drawn && this.needsInitialView) {
      return; // not attached yet: the first view comes back here once it has a size
    }
    if (drawn) {
      this.pendingShow = null;
      if (!this.onScreen(drawn.box)) {
        this.centerOnBox(drawn.box);
      }
    } else if (!this.loads.size) {
      this.pendingShow = null;
    }
  }

  /** Whether a box of the drawing is wholly inside the canvas. */
  private onScreen(box: IBox): boolean {
    const { k, x, y } = this.transform;
    const { width, height } = this.canvasSize();
    const left = box.x * k + x;
    const top = box.y * k + y;
    return left >= 0 && top >= 0 && left + box.w * k <= width && top + box.h * k <= height;
  }

  /** Fits small drawings; shows large ones from the top at a readable size. */
  private initialView(): void {
    if (!this.drawing) {
      return;
    }
    const { width, height } = this.canvasSize();
    if (width === 0 || height === 0) {
      return; // not attached yet: the resize observer comes back here
    }
    this.needsInitialView = false;
    const saved = this.rootViews.get(this.rootId);
    if (saved) {
      this.setTransform(saved);
      return;
    }
    const w = Math.max(this.drawing.width, 1);
    const h = Math.max(this.drawing.height, 1);
    const fitK = Math.min((width - 40) / w, (height - 40) / h);
    if (fitK >= READABLE_ZOOM) {
      this.fit();
      if (this.transform.k > 1) {
        this.setTransform({ k: 1, x: (width - w) / 2, y: (height - h) / 2 });
      }
    } else {
      const k = Math.max(fitK, Math.min(1, (width - 40) / w, 0.9));
      this.setTransform({ k, x: (width - w * k) / 2, y: 20 });
    }
  }

  // ---- decorations: selection, highlight, hits, overlay ------------------------------------

  /** The drawn item for a group, or for the nearest drawn group around it. */
  private drawnGroupAround(groupId: string | undefined): IDrawn | undefined {
    const seen = new Set<string>();
    for (let gid = groupId; gid !== undefined && !seen.has(gid); gid = this.parentOf.get(gid)) {
      seen.add(gid);
      const drawn = this.drawing?.byGroup.get(gid);
      if (drawn) {
        return drawn;
      }
    }
    return undefined;
  }

  /** The drawn items standing for a model node: the node itself, else its nearest drawn group. */
  private drawnFor(nodeId: string): IDrawn[] {
    const direct = this.drawing?.byNode.get(nodeId);
    if (direct) {
      return direct;
    }
    const around = this.drawnGroupAround(this.nodeGroup.get(nodeId) ?? nodeId);
    return around ? [around] : [];
  }

  /** Adds (or removes) the left-edge strip of each node that toggles its breakpoint. */
  private drawGutters(drawing: IDrawing): void {
    drawing.root.querySelectorAll(`.${CSS}gutter`).forEach(el => el.remove());
    if (!this.breakpointClicks) {
      return;
    }
    for (const d of drawing.items) {
      if (d.item.kind === 'node') {
        const gutter = svg('rect', { class: `${CSS}gutter`, width: GUTTER, height: d.box.h });
        const tip = svg('title');
        tip.textContent = 'toggle breakpoint (b)';
        gutter.appendChild(tip);
        d.el.appendChild(gutter);
      }
    }
  }

  /** Draws the marks' badges: on the marked node, else on the drawn group around it. */
  private drawBadges(): void {
    this.badges.forEach(el => el.remove());
    this.badges = [];
    for (const [nodeId, mark] of Object.entries(this.marks)) {
      if (mark !== 'breakpoint') {
        continue; // the only mark there is; anything else is not drawn
      }
      for (const d of this.drawnFor(nodeId)) {
        const inside = d.item.kind !== 'node';
        const badge = svg('circle', {
          class: `${CSS}${mark}${inside ? ` ${CSS}inside` : ''}`,
          cx: 0,
          cy: Math.min(d.box.h / 2, 10),
          r: BADGE_RADIUS,
          'data-node': nodeId
        });
        const tip = svg('title');
        tip.textContent = inside ? `${mark} inside: ${nodeId}` : `${mark}: click to remove`;
        badge.appendChild(tip);
        d.el.appendChild(badge);
        this.badges.push(badge);
      }
    }
  }

  /** Re-applies every state class, badge and overlay colour to the current drawing. */
  private decorate(): void {
    const drawing = this.drawing;
    if (!drawing) {
      return;
    }
    this.drawBadges();
    const classes = [
      'selected',
      'contains',
      'highlighted',
      'hit',
      'currentHit',
      'overlaid',
      'darkText'
    ];
    for (const d of drawing.items) {
      for (const name of classes) {
        d.el.classList.remove(`${CSS}${name}`);
      }
      d.el.style.removeProperty('--jp-OnnxWorkbench-fill');
    }
    const mark = (list: IDrawn[], name: string) =>
      list.forEach(d => d.el.classList.add(`${CSS}${name}`));
    for (const id of this.selectedNodes) {
      const drawn = this.drawnFor(id);
      mark(drawn, drawn.length && drawn[0].item.kind === 'group' ? 'contains' : 'selected');
    }
    if (this.selectedItem) {
      const drawn = drawing.byId.get(this.selectedItem);
      if (drawn) {
        mark([drawn], 'selected');
      }
    }
    for (const id of this.highlighted) {
      mark(this.drawnFor(id), 'highlighted');
    }
    if (this.searchResult) {
      this.searchResult.hits.forEach((hit, i) => {
        const drawn = drawing.byId.get(hit.itemId) ?? this.drawnGroupAround(hit.groupId);
        if (drawn) {
          mark([drawn], i === this.hitIndex ? 'currentHit' : 'hit');
        }
      });
    }
    const overlay = this.overlay;
    if (overlay) {
      const span = overlay.max - overlay.min || 1;
      for (const d of drawing.items) {
        const key =
          d.item.kind === 'node' || d.item.kind === 'ref'
            ? d.item.node
            : d.item.kind === 'group'
              ? d.item.group
              : null;
        const value = key === null ? undefined : overlay.values[key];
        if (typeof value === 'number') {
          const t = (value - overlay.min) / span;
          d.el.style.setProperty('--jp-OnnxWorkbench-fill', scaleColor(t));
          d.el.classList.add(`${CSS}overlaid`);
          if (scaleTextDark(t)) {
            d.el.classList.add(`${CSS}darkText`);
          }
        }
      }
    }
    this.svgRoot.classList.toggle(`${CSS}withOverlay`, !!overlay);
  }

  private renderLegend(): void {
    const overlay = this.overlay;
    this.legend.replaceChildren();
    this.legend.hidden = !overlay;
    if (!overlay) {
      return;
    }
    const bar = html('div', `${CSS}legendBar`);
    bar.style.background = scaleGradient();
    const ends = html('div', `${CSS}legendEnds`);
    const fmt = (n: number) =>
      Math.abs(n) >= 1000 || Number.isInteger(n) ? n.toLocaleString('en-US') : n.toPrecision(3);
    ends.append(
      html('span', undefined, fmt(overlay.min)),
      html('span', undefined, fmt(overlay.max))
    );
    this.legend.append(html('div', `${CSS}legendLabel`, overlay.label), bar, ends);
  }

  // ---- selection and details ----------------------------------------------------------

  /** The user clicked an item. */
  private activate(drawn: IDrawn): void {
    const item = drawn.item;
    if (item.kind === 'group') {
      this.selectedItem = item.id;
      void this.setExpanded([item.group], !this.expanded.has(item.group));
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
      this.setDetailsOpen(false);
      this.decorate();
      this.callbacks.selectionChanged?.([]);
    }
  }

  private clearSelection(): void {
    const had = this.selectedNodes.length > 0;
    this.selectedNodes = [];
    this.selectedItem = null;
    this.setDetailsOpen(false);
    this.decorate();
    if (had) {
      this.callbacks.selectionChanged?.([]);
    }
  }

  private setDetailsOpen(open: boolean): void {
    this.details.hidden = !open;
    if (!open) {
      this.detailsContent.replaceChildren();
      delete this.details.dataset.node;
    }
  }

  /** The subgraph and function bodies of a node, from its drawn or loaded item. */
  private bodiesOf(nodeId: string): BodyLink[] {
    const gid = this.nodeGroup.get(nodeId);
    const item = gid
      ? this.groups.get(gid)?.items.find(i => i.kind === 'node' && i.node === nodeId)
      : undefined;
    if (!item || item.kind !== 'node' || !item.graphs) {
      return [];
    }
    const base = nodeId.replace(/^\//, '');
    return item.graphs.map(([name, groupId]) => [`${base}/${name}`, groupId] as BodyLink);
  }

  private fetchDetails(nodeId: string): Promise<IDetails> {
    const embedded = this.payload.details?.[nodeId];
    if (embedded) {
      return Promise.resolve(embedded);
    }
    let pending = this.detailsCache.get(nodeId);
    if (!pending) {
      pending = this.source
        ? this.source.details(nodeId)
        : Promise.reject(new Error('the details of this node are not in this view'));
      this.detailsCache.set(nodeId, pending);
      pending.catch(() => this.detailsCache.delete(nodeId));
    }
    return pending;
  }

  private showDetails(nodeId: string): void {
    this.setDetailsOpen(true);
    this.details.dataset.node = nodeId;
    this.detailsContent.replaceChildren(html('div', `${CSS}loading`, 'loading…'));
    const bodies = this.bodiesOf(nodeId);
    this.fetchDetails(nodeId).then(
      d => {
        if (this.details.dataset.node === nodeId) {
          this.detailsContent.replaceChildren(
            renderDetails(d, bodies, (gid, label) => void this.enter(gid, label))
          );
        }
      },
      (error: unknown) => {
        if (this.details.dataset.node === nodeId) {
          const text = error instanceof Error ? error.message : String(error);
          this.detailsContent.replaceChildren(
            html('div', `${CSS}detailsOp`, nodeId),
            html('div', `${CSS}error`, text)
          );
        }
      }
    );
  }

  // ---- search -------------------------------------------------------------------------

  private renderCounter(error: string | null): void {
    const result = this.searchResult;
    this.counter.classList.toggle(`${CSS}error`, !!error);
    if (error) {
      this.counter.textContent = 'bad regex';
      this.counter.title = error;
      return;
    }
    if (!result) {
      this.counter.textContent = '';
      this.counter.title = '';
      return;
    }
    const n = result.hits.length;
    this.counter.textContent = !n
      ? 'no hits'
      : this.hitIndex < 0
        ? `${n} hit${n === 1 ? '' : 's'}`
        : `${this.hitIndex + 1} / ${n}`;
    if (result.unsearched) {
      this.counter.textContent += ` (+${result.unsearched} not loaded)`;
      this.counter.title =
        `${result.unsearched} group(s) are not loaded yet and were not searched; ` +
        'expand them to search inside.';
    } else {
      this.counter.title = '';
    }
  }

  /** Recomputes the hits after groups arrived or the root changed, staying on the current hit. */
  private refreshSearch(): void {
    const query = this.searchInput.value.trim();
    if (!this.searchResult || !query) {
      return;
    }
    const current = this.searchResult.hits[this.hitIndex]?.itemId;
    const match = matcher(query);
    this.searchResult = searchTree(this.rootId, id => this.groups.get(id), match);
    this.hitIndex = this.searchResult.hits.findIndex(hit => hit.itemId === current);
    this.renderCounter(match.error);
  }

  /** Moves to the next (1) or previous (-1) hit, expanding the groups around it. */
  private stepHit(step: number): void {
    const result = this.searchResult;
    if (!result || !result.hits.length) {
      return;
    }
    const n = result.hits.length;
    this.hitIndex = (((this.hitIndex + step) % n) + n) % n;
    this.renderCounter(null);
    const hit = result.hits[this.hitIndex];
    this.reveal(hit.groupId);
    void this.requestLayout().then(() => {
      const drawn = this.drawing?.byId.get(hit.itemId);
      if (drawn) {
        this.centerOnBox(drawn.box);
      }
    });
  }

  // ---- view transform ---------------------------------------------------------------

  private canvasSize(): { width: number; height: number } {
    return { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
  }

  private setTransform(t: ITransform): void {
    this.transform = { k: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, t.k)), x: t.x, y: t.y };
    const { k, x, y } = this.transform;
    this.viewport.setAttribute(
      'transform',
      `translate(${x.toFixed(2)},${y.toFixed(2)}) scale(${k.toFixed(5)})`
    );
    this.svgRoot.classList.toggle(`${CSS}far`, k < FAR_ZOOM);
    this.updateMinimapViewport();
  }

  private updateMinimapViewport(): void {
    const { k, x, y } = this.transform;
    const { width, height } = this.canvasSize();
    this.minimap.setViewport({ x: -x / k, y: -y / k, w: width / k, h: height / k });
  }

  private zoomAt(px: number, py: number, factor: number): void {
    const { k, x, y } = this.transform;
    const nk = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k * factor));
    this.setTransform({ k: nk, x: px - ((px - x) * nk) / k, y: py - ((py - y) * nk) / k });
  }

  private zoomBy(factor: number): void {
    const { width, height } = this.canvasSize();
    this.zoomAt(width / 2, height / 2, factor);
  }

  private centerOnPoint(cx: number, cy: number, k = this.transform.k): void {
    const { width, height } = this.canvasSize();
    this.setTransform({ k, x: width / 2 - cx * k, y: height / 2 - cy * k });
  }

  private centerOnBox(box: IBox): void {
    const k = this.transform.k < READABLE_ZOOM ? 1 : this.transform.k;
    this.centerOnPoint(box.x + box.w / 2, box.y + box.h / 2, k);
  }

  // ---- roots (subgraph bodies) ----------------------------------------------------------

  private showRoot(): Promise<void> {
    this.needsInitialView = true;
    this.anchor = null;
    this.renderBreadcrumb();
    this.refreshSearch();
    return this.requestLayout();
  }

  private backTo(depth: number): void {
    if (depth < 0 || depth >= this.roots.length - 1) {
      return;
    }
    this.rootViews.set(this.rootId, { ...this.transform });
    this.roots = this.roots.slice(0, depth + 1);
    void this.showRoot();
  }

  private renderBreadcrumb(): void {
    this.breadcrumb.replaceChildren();
    this.roots.forEach((root, i) => {
      if (i > 0) {
        this.breadcrumb.appendChild(html('span', `${CSS}crumbSeparator`, '›'));
      }
      const last = i === this.roots.length - 1;
      const crumb = html('button', `${CSS}crumb`, root.label);
      crumb.type = 'button';
      crumb.disabled = last;
      crumb.setAttribute('data-group', root.id);
      crumb.addEventListener('click', () => this.backTo(i));
      this.breadcrumb.appendChild(crumb);
    });
  }

  // ---- commands -----------------------------------------------------------------------

  /** Expands the selected group, or else every collapsed group at the shallowest drawn depth. */
  private expandLevel(): void {
    const drawing = this.drawing;
    if (!drawing) {
      return;
    }
    const selected = this.selectedItem ? drawing.byId.get(this.selectedItem) : undefined;
    if (selected && selected.item.kind === 'group' && !this.expanded.has(selected.item.group)) {
      void this.setExpanded([selected.item.group], true);
      return;
    }
    const collapsed = drawing.items.filter(
      d => d.item.kind === 'group' && !this.expanded.has(d.item.group)
    );
    const depth = (d: IDrawn) => {
      let n = 0;
      let gid: string | undefined = d.groupId;
      while (gid && gid !== this.rootId && n < 1000) {
        n += 1;
        gid = this.parentOf.get(gid);
      }
      return n;
    };
    const shallowest = Math.min(...collapsed.map(depth));
    const ids = collapsed
      .filter(d => depth(d) === shallowest)
      .map(d => (d.item as { group: string }).group);
    void this.setExpanded(ids, true);
  }

  /** Collapses the selected group or the group holding the selection, else everything. */
  private collapseSelected(): void {
    const drawing = this.drawing;
    const selected = this.selectedItem ? drawing?.byId.get(this.selectedItem) : undefined;
    if (selected && selected.item.kind === 'group' && this.expanded.has(selected.item.group)) {
      void this.setExpanded([selected.item.group], false);
      return;
    }
    const holder =
      selected ?? (this.selectedNodes.length ? this.drawnFor(this.selectedNodes[0])[0] : undefined);
    if (holder && holder.groupId !== this.rootId) {
      this.selectedItem = drawing?.byGroup.get(holder.groupId)?.item.id ?? null;
      void this.setExpanded([holder.groupId], false);
      return;
    }
    this.collapseAll();
  }

  private collapseAll(): void {
    void this.setExpanded([...this.expanded], false);
  }

  // ---- events -------------------------------------------------------------------------

  private itemAt(target: EventTarget | null): IDrawn | undefined {
    const el = target instanceof Element ? target.closest(`.${CSS}item`) : null;
    if (!el || !this.drawing) {
      return undefined;
    }
    const drawn = this.drawing.byId.get(el.getAttribute('data-id') ?? '');
    if (drawn?.expanded && !(target as Element).closest(`.${CSS}frameHeader`)) {
      return undefined; // inside a frame but not on its header: background
    }
    return drawn;
  }

  private bindEvents(): void {
    this.canvas.addEventListener('pointerdown', this.onPointerDown);
    this.canvas.addEventListener('wheel', this.onWheel, { passive: false });
    this.canvas.addEventListener('click', this.onClick);
    this.canvas.addEventListener('dblclick', this.onDoubleClick);
    this.host.addEventListener('keydown', this.onKeyDown);
    this.searchInput.addEventListener('input', () => this.search(this.searchInput.value, false));
    this.searchInput.addEventListener('keydown', this.onSearchKey);
    this.resizeObserver = new ResizeObserver(() => {
      if (this.needsInitialView) {
        this.initialView();
        this.finishShowNode();
      } else {
        this.updateMinimapViewport();
      }
    });
    this.resizeObserver.observe(this.canvas);
  }

  private onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0) {
      return;
    }
    this.host.focus({ preventScroll: true });
    const { x: tx, y: ty } = this.transform;
    const start = { x: event.clientX, y: event.clientY, tx, ty };
    this.dragged = false;
    const move = (e: PointerEvent) => {
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!this.dragged && Math.hypot(dx, dy) < DRAG_THRESHOLD) {
        return;
      }
      this.dragged = true;
      this.canvas.classList.add(`${CSS}dragging`);
      this.setTransform({ k: this.transform.k, x: start.tx + dx, y: start.ty + dy });
    };
    const up = () => this.stopDrag?.();
    this.stopDrag = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      this.canvas.classList.remove(`${CSS}dragging`);
      this.stopDrag = null;
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  private onWheel = (event: WheelEvent): void => {
    event.preventDefault();
    const rect = this.canvas.getBoundingClientRect();
    const unit = event.deltaMode === 1 ? 0.05 : event.deltaMode === 2 ? 1 : 0.0015;
    const factor = Math.exp(-event.deltaY * unit);
    this.zoomAt(event.clientX - rect.left, event.clientY - rect.top, factor);
  };

  private onClick = (event: MouseEvent): void => {
    if (this.dragged) {
      this.dragged = false;
      return;
    }
    if (!(event.target instanceof Element) || !this.svgRoot.contains(event.target)) {
      return;
    }
    const drawn = this.itemAt(event.target);
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
    const drawn = this.itemAt(event.target);
    if (drawn && drawn.item.kind === 'node' && drawn.item.graphs?.length) {
      const [label, gid] = this.bodiesOf(drawn.item.node)[0] ?? drawn.item.graphs[0];
      void this.enter(gid, label);
    } else if (drawn && drawn.item.kind === 'group') {
      this.centerOnBox(drawn.box);
    }
  };

  private onSearchKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter') {
      event.preventDefault();
      this.stepHit(event.shiftKey ? -1 : 1);
    } else if (event.key === 'Escape') {
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
    const key = event.key;
    let handled = true;
    if ((key === 'f' && (event.ctrlKey || event.metaKey)) || key === '/') {
      this.searchInput.focus();
      this.searchInput.select();
    } else if (event.ctrlKey || event.metaKey || event.altKey) {
      handled = false;
    } else if (key === 'f') {
      this.fit();
    } else if (key === 'e') {
      this.expandLevel();
    } else if (key === 'c') {
      this.collapseSelected();
    } else if (key === 'b' && this.breakpointClicks && this.selectedNodes.length) {
      this.callbacks.breakpointToggled?.(this.selectedNodes[0]);
    } else if (key === '+' || key === '=') {
      this.zoomBy(1.25);
    } else if (key === '-') {
      this.zoomBy(0.8);
    } else if (key === 'Escape') {
      if (this.searchResult) {
        this.search('');
      } else {
        this.clearSelection();
      }
    } else if (key === 'Backspace') {
      this.backTo(this.roots.length - 2);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };
}

/**
 * A body's name in the breadcrumb: a function's own name (`domain.name`), a subgraph's
 * path, else what the caller calls it.
 */
function rootLabel(group: IGroup | undefined, label?: string): string | undefined {
  if (group?.kind === 'function') {
    return group.label;
  }
  return group?.path || label || group?.label;
}
