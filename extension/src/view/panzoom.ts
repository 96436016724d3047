/**
 * Pan and zoom of the graph view: the transform from drawing to screen, the pure arithmetic
 * on it (fit, first view, zoom about a point, centring, the view after a re-layout), and the
 * class that applies it to the SVG viewport, animates it, and follows the pointer and the
 * wheel on the canvas.
 */
import { CSS } from './css';
import type { LayoutDirection } from './dot';
import { IBox } from './dot';
import { Minimap } from './minimap';

/** The view's pan and zoom: screen = drawing × k + (x, y). */
export interface ITransform {
  k: number;
  x: number;
  y: number;
}

/** A size in screen pixels. */
export interface ISize {
  width: number;
  height: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;
/** The zoom below which a drawing is too small to read: jumps to an item zoom to 1. */
export const READABLE_ZOOM = 0.6;
/** Below this zoom, edge labels are hidden: too small to read. */
export const FAR_ZOOM = 0.45;
/** How far (px) the pointer moves before a press becomes a drag. */
const DRAG_THRESHOLD = 4;
/** The largest zoom at which `fit` shows a drawing. */
const FIT_MAX_ZOOM = 1.5;
/** Room (px) left around a fitted drawing, on both sides together. */
const FIT_MARGIN = 40;
/** Above this zoom a drawing is too large to read: only a few boxes show. */
export const LARGE_ZOOM = 2;
/** How long (ms) the view takes to glide to a new place. */
export const ANIMATION_MS = 200;
/** Pixels of one wheel "line" (`deltaMode` 1). */
const WHEEL_LINE = 16;

/**
 * What the mouse wheel does: `pan` (the default, as in maps and Netron: the wheel pans and
 * ctrl/⌘ + wheel, which is also a trackpad pinch, zooms) or `zoom` (the other way round).
 */
export type WheelMode = 'pan' | 'zoom';

/** A zoom kept within [MIN_ZOOM, MAX_ZOOM]. */
export function clampZoom(k: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
}

/** The transform that centres a drawing of `w` × `h` in `size`, as large as fits (up to 1.5). */
export function fitTransform(size: ISize, w: number, h: number): ITransform {
  const dw = Math.max(w, 1);
  const dh = Math.max(h, 1);
  const k = Math.min((size.width - FIT_MARGIN) / dw, (size.height - FIT_MARGIN) / dh, FIT_MAX_ZOOM);
  return { k, x: (size.width - dw * k) / 2, y: (size.height - dh * k) / 2 };
}

/** The zoom at which a drawing of `w` × `h` just fits `size` (with its margin), unbounded. */
export function fitZoom(size: ISize, w: number, h: number): number {
  const dw = Math.max(w, 1);
  const dh = Math.max(h, 1);
  return Math.min((size.width - FIT_MARGIN) / dw, (size.height - FIT_MARGIN) / dh);
}

/**
 * The first view of a drawing: a small one fitted (but not enlarged past 1), a large one
 * from the top at a readable size; from the left for a drawing laid out left to right (`LR`).
 */
export function initialTransform(
  size: ISize,
  w: number,
  h: number,
  direction: LayoutDirection = 'TB'
): ITransform {
  if (direction === 'LR') {
    // The same view with the axes swapped: the flow runs along x.
    const t = initialTransform({ width: size.height, height: size.width }, h, w);
    return { k: t.k, x: t.y, y: t.x };
  }
  const dw = Math.max(w, 1);
  const dh = Math.max(h, 1);
  const fitK = Math.min((size.width - FIT_MARGIN) / dw, (size.height - FIT_MARGIN) / dh);
  if (fitK >= READABLE_ZOOM) {
    const fitted = fitTransform(size, dw, dh);
    return clampZoom(fitted.k) > 1
      ? { k: 1, x: (size.width - dw) / 2, y: (size.height - dh) / 2 }
      : fitted;
  }
  const k = Math.max(fitK, Math.min(1, (size.width - FIT_MARGIN) / dw, 0.9));
  return { k, x: (size.width - dw * k) / 2, y: 20 };
}

/** `t` zoomed by `factor` about the screen point (px, py), which stays put. */
export function zoomAbout(t: ITransform, px: number, py: number, factor: number): ITransform {
  const nk = clampZoom(t.k * factor);
  return { k: nk, x: px - ((px - t.x) * nk) / t.k, y: py - ((py - t.y) * nk) / t.k };
}

/** The transform at zoom `k` that puts the drawing point (cx, cy) in the middle of `size`. */
export function centredOn(size: ISize, cx: number, cy: number, k: number): ITransform {
  return { k, x: size.width / 2 - cx * k, y: size.height / 2 - cy * k };
}

/** The zoom to show an item at: the current one, or 1 where the current one is unreadable. */
export function readableZoom(k: number): number {
  return k < READABLE_ZOOM ? 1 : k;
}

/** Whether a box of the drawing lies wholly inside a screen of `size` under `t`. */
export function boxOnScreen(t: ITransform, box: IBox, size: ISize): boolean {
  const left = box.x * t.k + t.x;
  const top = box.y * t.k + t.y;
  const right = left + box.w * t.k;
  const bottom = top + box.h * t.k;
  return left >= 0 && top >= 0 && right <= size.width && bottom <= size.height;
}

/**
 * Where the view goes after an expand or collapse re-laid the drawing out (now `w` × `h`,
 * shown at `t`), or null to stay. It moves when the whole drawing was on screen before
 * (`wasFitted`), or when the drawing is now shown too small to read (zoomed out further than
 * needed) or too large (zoomed in past {@link LARGE_ZOOM}). It then fits the drawing where
 * that is readable (not enlarging past max(1, the current zoom)); else, at a readable zoom,
 * it shows `focus` (the group just expanded) from its top, or the drawing's first view.
 */
export function refitTransform(
  size: ISize,
  t: ITransform,
  w: number,
  h: number,
  wasFitted: boolean,
  focus?: IBox
): ITransform | null {
  const fitK = fitZoom(size, w, h);
  const tooSmall = t.k < READABLE_ZOOM && fitK > t.k * 1.05;
  const tooLarge = t.k > LARGE_ZOOM && fitK < t.k;
  if (!wasFitted && !tooSmall && !tooLarge) {
    return null;
  }
  if (fitK >= READABLE_ZOOM) {
    const k = clampZoom(Math.min(fitK, Math.max(1, Math.min(t.k, FIT_MAX_ZOOM))));
    return { k, x: (size.width - w * k) / 2, y: (size.height - h * k) / 2 };
  }
  if (!focus) {
    return initialTransform(size, w, h);
  }
  const k = Math.min(readableZoom(t.k), LARGE_ZOOM);
  if (k === t.k && boxOnScreen(t, { ...focus, h: Math.min(focus.h, 40) }, size)) {
    return null; // readable, and the group's head is on screen where it was
  }
  const x = size.width / 2 - (focus.x + focus.w / 2) * k;
  const fits = focus.h * k <= size.height - FIT_MARGIN;
  const y = fits ? size.height / 2 - (focus.y + focus.h / 2) * k : FIT_MARGIN / 2 - focus.y * k;
  return { k, x, y };
}

/**
 * The transform a fraction `s` (0–1) of the way from `a` to `b`: the drawing point in the
 * middle of the screen moves in a straight line while the zoom changes geometrically, so the
 * view glides rather than swings.
 */
export function interpolate(size: ISize, a: ITransform, b: ITransform, s: number): ITransform {
  const cx = size.width / 2;
  const cy = size.height / 2;
  const [ax, ay] = [(cx - a.x) / a.k, (cy - a.y) / a.k];
  const [bx, by] = [(cx - b.x) / b.k, (cy - b.y) / b.k];
  const k = a.k * Math.pow(b.k / a.k, s);
  const px = ax + (bx - ax) * s;
  const py = ay + (by - ay) * s;
  return { k, x: cx - px * k, y: cy - py * k };
}

/** An ease-in-out curve on [0, 1]. */
function ease(s: number): number {
  return s < 0.5 ? 2 * s * s : 1 - Math.pow(-2 * s + 2, 2) / 2;
}

/** Whether the user asked the system for less motion. */
function reducedMotion(): boolean {
  return (
    typeof window !== 'undefined' &&
    typeof window.matchMedia === 'function' &&
    window.matchMedia('(prefers-reduced-motion: reduce)').matches
  );
}

/**
 * What one wheel event does: a zoom factor about the pointer, or a pan by (dx, dy) screen
 * pixels. With `mode` `pan`, the wheel pans and ctrl/⌘ + wheel zooms; with `zoom`, the
 * reverse. `deltaMode`: 0 pixels, 1 lines, 2 pages (`page` px).
 */
export function wheelAction(
  event: { deltaX: number; deltaY: number; deltaMode: number; ctrlKey: boolean; metaKey: boolean },
  mode: WheelMode,
  page: number
): { zoom: number } | { dx: number; dy: number } {
  const modified = event.ctrlKey || event.metaKey;
  if ((mode === 'pan') === modified) {
    return { zoom: wheelFactor(event.deltaY, event.deltaMode) };
  }
  const unit = event.deltaMode === 1 ? WHEEL_LINE : event.deltaMode === 2 ? page : 1;
  return { dx: -event.deltaX * unit, dy: -event.deltaY * unit };
}

/** The SVG `transform` attribute for `t`. */
export function transformAttribute(t: ITransform): string {
  return `translate(${t.x.toFixed(2)},${t.y.toFixed(2)}) scale(${t.k.toFixed(5)})`;
}

/** The zoom factor of one wheel event (`deltaMode`: 0 pixels, 1 lines, 2 pages). */
export function wheelFactor(deltaY: number, deltaMode: number): number {
  const unit = deltaMode === 1 ? 0.05 : deltaMode === 2 ? 1 : 0.0015;
  return Math.exp(-deltaY * unit);
}

/** Applies the transform to the view and pans and zooms it with the pointer and the wheel. */
export class PanZoom {
  private current: ITransform = { k: 1, x: 0, y: 0 };
  private dragged = false;
  private stopDrag: (() => void) | null = null;
  private frame = 0;

  /**
   * @param canvas the element that takes the pointer and the wheel, and whose size is the screen
   * @param svgRoot the SVG element (gets the `far` class when zoomed out far)
   * @param viewport the group the transform applies to
   * @param minimap the overview that shows the viewport
   * @param focus called when a press starts on the canvas
   * @param wheelMode what the wheel does (read at each wheel event)
   */
  constructor(
    private canvas: HTMLElement,
    private svgRoot: SVGSVGElement,
    private viewport: SVGGElement,
    private minimap: Minimap,
    private focus: () => void,
    private wheelMode: () => WheelMode = () => 'pan'
  ) {
    canvas.addEventListener('pointerdown', this.onPointerDown);
    canvas.addEventListener('wheel', this.onWheel, { passive: false });
  }

  /** The current transform (a copy). */
  get transform(): ITransform {
    return { ...this.current };
  }

  /** The canvas size. */
  size(): ISize {
    return { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
  }

  /** Sets the transform (zoom clamped) and shows it, ending any animation. */
  set(t: ITransform): void {
    this.stopAnimation();
    this.apply(t);
  }

  /**
   * Glides to a transform in {@link ANIMATION_MS} (at once where the system asks for reduced
   * motion). Any other move of the view ends the glide where it is.
   */
  animateTo(t: ITransform): void {
    this.stopAnimation();
    const from = this.current;
    const to = { k: clampZoom(t.k), x: t.x, y: t.y };
    if (reducedMotion() || typeof requestAnimationFrame !== 'function') {
      this.apply(to);
      return;
    }
    const start = performance.now();
    const step = (now: number) => {
      const s = Math.min(1, (now - start) / ANIMATION_MS);
      this.apply(s >= 1 ? to : interpolate(this.size(), from, to, ease(s)));
      this.frame = s >= 1 ? 0 : requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  private stopAnimation(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
  }

  private apply(t: ITransform): void {
    this.current = { k: clampZoom(t.k), x: t.x, y: t.y };
    this.viewport.setAttribute('transform', transformAttribute(this.current));
    this.svgRoot.classList.toggle(`${CSS}far`, this.current.k < FAR_ZOOM);
    this.updateMinimap();
  }

  /** Shows the viewport (in drawing coordinates) in the minimap. */
  updateMinimap(): void {
    const { k, x, y } = this.current;
    const { width, height } = this.size();
    this.minimap.setViewport({ x: -x / k, y: -y / k, w: width / k, h: height / k });
  }

  /** Zooms by `factor` about the middle of the canvas. */
  zoomBy(factor: number): void {
    const { width, height } = this.size();
    this.set(zoomAbout(this.current, width / 2, height / 2, factor));
  }

  /** Puts a drawing point in the middle of the canvas, at zoom `k` (default: the current). */
  centerOnPoint(cx: number, cy: number, k = this.current.k): void {
    this.set(centredOn(this.size(), cx, cy, k));
  }

  /** Puts a box in the middle of the canvas at a readable zoom (gliding there with `animate`). */
  centerOnBox(box: IBox, animate = false): void {
    const t = centredOn(
      this.size(),
      box.x + box.w / 2,
      box.y + box.h / 2,
      readableZoom(this.current.k)
    );
    if (animate) {
      this.animateTo(t);
    } else {
      this.set(t);
    }
  }

  /** Whether a box is wholly inside the canvas. */
  onScreen(box: IBox): boolean {
    return boxOnScreen(this.current, box, this.size());
  }

  /** Whether the last press was a drag (the click that ends it is no click); resets it. */
  takeDrag(): boolean {
    const dragged = this.dragged;
    this.dragged = false;
    return dragged;
  }

  /** Ends a drag or a glide under way. */
  dispose(): void {
    this.stopDrag?.();
    this.stopAnimation();
  }

  private onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0) {
      return;
    }
    this.focus();
    const { x: tx, y: ty } = this.current;
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
      this.set({ k: this.current.k, x: start.tx + dx, y: start.ty + dy });
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
    const action = wheelAction(event, this.wheelMode(), this.canvas.clientHeight);
    if ('zoom' in action) {
      const rect = this.canvas.getBoundingClientRect();
      const { clientX, clientY } = event;
      this.set(zoomAbout(this.current, clientX - rect.left, clientY - rect.top, action.zoom));
    } else {
      const { k, x, y } = this.current;
      this.set({ k, x: x + action.dx, y: y + action.dy });
    }
  };
}
