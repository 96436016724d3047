/**
 * The drawing the view shows and the queue of layouts that replace it: each pass lays out
 * the expanded groups of the root shown with dot, draws them, and then places the view
 * (keeping an anchor item in place, or setting up the first view of a root) and records
 * its state and timings on the host.
 */
import { CSS } from './css';
import { LayoutDirection } from './dot';
import { IDrawing, drawTree } from './draw';
import { GroupStore } from './groups';
import { graphviz } from './graphviz';
import { Minimap } from './minimap';
import { Navigation } from './navigation';
import { PanZoom, boxOnScreen, initialTransform, refitTransform } from './panzoom';
import { setFontFamily } from './shapes';
import { ILevel, LayoutTree } from './tree';

/** A point of the drawing that must stay put on screen across a re-layout. */
interface IAnchor {
  itemId: string;
  screenX: number;
  screenY: number;
}

/** What a scene works with. */
export interface ISceneParts {
  /** Gets `data-state`, `data-layout-count` and the timings. */
  host: HTMLElement;
  /** The SVG group the drawing goes in. */
  viewport: SVGGElement;
  /** Where "loading…" and errors are written. */
  message: HTMLElement;
  minimap: Minimap;
  panzoom: PanZoom;
  groups: GroupStore;
  nav: Navigation;
  /** When the view was created (`performance.now()`), for `data-first-paint-ms`. */
  created: number;
  /** Paints the view's decorations on a new drawing. */
  drawn(drawing: IDrawing): void;
}

/** The drawing shown and its layout queue. */
export class Scene {
  private current: IDrawing | null = null;
  private tree: LayoutTree;
  private queued = false;
  private chain: Promise<void> = Promise.resolve();
  private anchor: IAnchor | null = null;
  private needsInitialView = true;
  private pendingShow: string | null = null;
  private refit: { wasFitted: boolean } | null = null;
  private count = 0;
  private disposed = false;

  constructor(private parts: ISceneParts) {
    this.tree = new LayoutTree({
      group: id => parts.groups.get(id),
      isExpanded: id => parts.nav.isExpanded(id),
      note: id => this.note(id)
    });
  }

  /** Which way the drawing flows: top to bottom (`TB`) or left to right (`LR`). */
  get direction(): LayoutDirection {
    return this.tree.direction;
  }

  set direction(value: LayoutDirection) {
    this.tree.direction = value;
  }

  /** Whether node boxes show their names under their op types. */
  get names(): boolean {
    return this.tree.names;
  }

  set names(value: boolean) {
    this.tree.names = value;
  }

  /** The drawing shown, if any. */
  get drawing(): IDrawing | null {
    return this.current;
  }

  /** Settles when the layouts queued so far are drawn. */
  get settled(): Promise<void> {
    return this.chain;
  }

  /** The note in an expanded group that cannot be drawn (yet), else null. */
  note(groupId: string): string | null {
    const { groups, nav } = this.parts;
    if (!nav.isExpanded(groupId) || groups.get(groupId)) {
      return null;
    }
    return groups.absence(groupId);
  }

  /** Schedules one layout pass (requests made before it starts share it). */
  request(): Promise<void> {
    if (!this.queued) {
      this.queued = true;
      this.parts.host.dataset.state = 'layout';
      this.chain = this.chain.then(() => {
        this.queued = false;
        return this.layout();
      });
    }
    return this.chain;
  }

  /** Keeps the drawn item of a group where it is on screen through the next layout. */
  anchorAt(groupId: string): void {
    const drawn = this.current?.byGroup.get(groupId);
    if (drawn) {
      const t = this.parts.panzoom.transform;
      this.anchor = {
        itemId: drawn.item.id,
        screenX: drawn.box.x * t.k + t.x,
        screenY: drawn.box.y * t.k + t.y
      };
    }
  }

  /** Whether the whole drawing is on screen (as after `fit`, or the first view of a small one). */
  get fitted(): boolean {
    const drawing = this.current;
    if (!drawing) {
      return false;
    }
    const panzoom = this.parts.panzoom;
    const box = {
      x: 1,
      y: 1,
      w: Math.max(0, drawing.width - 2),
      h: Math.max(0, drawing.height - 2)
    };
    return boxOnScreen(panzoom.transform, box, panzoom.size());
  }

  /**
   * Makes the next layout (after an expand or collapse) glide to a readable view of the new
   * drawing where it needs one: see {@link refitTransform}.
   */
  refitAfter(wasFitted: boolean): void {
    this.refit = { wasFitted };
  }

  /** Makes the next layout set up the first view of the root (and forget any anchor). */
  resetView(dropAnchor: boolean): void {
    this.needsInitialView = true;
    if (dropAnchor) {
      this.anchor = null;
    }
  }

  /** Pans to a node once it is drawn, if it is off screen then. */
  showNode(nodeId: string): void {
    this.pendingShow = nodeId;
  }

  /** The canvas changed size: set up a first view that was waiting for one. */
  resized(): void {
    if (this.needsInitialView) {
      this.initialView();
      this.finishShowNode();
    } else {
      this.parts.panzoom.updateMinimap();
    }
  }

  /** Shows an error in place of the drawing. */
  fail(text: string): void {
    this.parts.message.textContent = text;
    this.parts.message.classList.add(`${CSS}error`);
    this.parts.host.dataset.state = 'error';
  }

  /** Stops drawing: layouts still queued do nothing. */
  dispose(): void {
    this.disposed = true;
  }

  private async layout(): Promise<void> {
    const { host, viewport, message, groups, nav } = this.parts;
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
    setFontFamily(getComputedStyle(host).fontFamily);
    const rootId = nav.rootId;
    let level: ILevel | null;
    try {
      level = this.tree.layout(gv, rootId);
    } catch (error) {
      this.fail(`Layout failed: ${(error as Error).message}`);
      return;
    }
    viewport.replaceChildren();
    this.current = null;
    if (!level) {
      groups.load(rootId);
      message.textContent = groups.absence(rootId);
      this.finishLayout(start, 0);
      return;
    }
    message.textContent = '';
    const drawing = drawTree(level, id => this.note(id), this.tree.names);
    viewport.appendChild(drawing.root);
    this.current = drawing;
    this.parts.drawn(drawing);
    this.parts.minimap.setContent(
      drawing.width,
      drawing.height,
      drawing.items.map(d => ({ box: d.box, frame: d.expanded }))
    );
    this.placeView();
    this.finishShowNode();
    this.finishLayout(start, this.tree.dotMs);
  }

  private finishLayout(start: number, dotMs: number): void {
    const host = this.parts.host;
    this.count += 1;
    if (this.count === 1) {
      host.dataset.firstPaintMs = (performance.now() - this.parts.created).toFixed(1);
    }
    host.dataset.layoutMs = (performance.now() - start).toFixed(1);
    host.dataset.dotMs = dotMs.toFixed(1);
    host.dataset.layoutCount = String(this.count);
    host.dataset.state = 'ready';
  }

  /** After a layout: keep the anchor in place, or set up the first view of a root. */
  private placeView(): void {
    const panzoom = this.parts.panzoom;
    const anchor = this.anchor;
    const refit = this.refit;
    this.anchor = null;
    this.refit = null;
    const drawn = anchor ? this.current?.byId.get(anchor.itemId) : undefined;
    if (anchor && drawn) {
      const k = panzoom.transform.k;
      panzoom.set({ k, x: anchor.screenX - drawn.box.x * k, y: anchor.screenY - drawn.box.y * k });
    } else if (this.needsInitialView) {
      this.initialView();
      return;
    } else {
      panzoom.updateMinimap();
    }
    const drawing = this.current;
    const size = panzoom.size();
    if (refit && drawing && size.width > 0 && size.height > 0) {
      const { width, height } = drawing;
      const target = refitTransform(
        size,
        panzoom.transform,
        width,
        height,
        refit.wasFitted,
        drawn?.box
      );
      if (target) {
        panzoom.animateTo(target);
      }
    }
  }

  /** Pans to the node `showNode` asked for, once drawn; gives up when nothing is loading. */
  private finishShowNode(): void {
    const nodeId = this.pendingShow;
    if (nodeId === null) {
      return;
    }
    const drawn = this.current?.byNode.get(nodeId)?.find(d => d.item.kind === 'node');
    if (drawn && this.needsInitialView) {
      return; // not attached yet: the first view comes back here once it has a size
    }
    if (drawn) {
      this.pendingShow = null;
      if (!this.parts.panzoom.onScreen(drawn.box)) {
        this.parts.panzoom.centerOnBox(drawn.box, true);
      }
    } else if (!this.parts.groups.pending) {
      this.pendingShow = null;
    }
  }

  /** Fits small drawings; shows large ones from the top at a readable size (or as last left). */
  private initialView(): void {
    if (!this.current) {
      return;
    }
    const panzoom = this.parts.panzoom;
    const size = panzoom.size();
    if (size.width === 0 || size.height === 0) {
      return; // not attached yet: the resize observer comes back here
    }
    this.needsInitialView = false;
    const { width, height } = this.current;
    panzoom.set(
      this.parts.nav.savedView() ?? initialTransform(size, width, height, this.direction)
    );
  }
}
