/**
 * The overview in a corner of the view: the drawing in miniature and the viewport as a
 * rectangle; clicking or dragging in it moves the view there. A drawing too tall for the
 * overview at a legible width shows the slice around the viewport, which follows it.
 */
import { CSS } from './css';
import { IBox } from './dot';
import { html } from './dom';

const MAX_W = 180;
const MAX_H = 140;
const MIN_W = 60;
const MAX_SCALE = 0.2;
const MAX_CANVAS = 8000;

/** The minimap widget (plain DOM). */
export class Minimap {
  /** The element to place in the view. */
  readonly node: HTMLDivElement;
  private canvas: HTMLCanvasElement;
  private frame: HTMLDivElement;
  private scale = 1;
  private width = 0;
  private height = 0;
  /** How far the canvas is scrolled up inside the node, in minimap pixels. */
  private offset = 0;

  /** `moveTo` gets the drawing point to centre the view on. */
  constructor(private moveTo: (x: number, y: number) => void) {
    this.node = html('div', `${CSS}minimap`);
    this.canvas = html('canvas');
    this.frame = html('div', `${CSS}minimapViewport`);
    this.node.append(this.canvas, this.frame);
    this.node.addEventListener('pointerdown', this.onPointerDown);
  }

  /** Draws the drawing's boxes (drawing coordinates) in miniature. */
  setContent(width: number, height: number, boxes: Array<{ box: IBox; frame: boolean }>): void {
    this.width = width;
    this.height = height;
    const w0 = Math.max(width, 1);
    const h0 = Math.max(height, 1);
    let scale = Math.min(MAX_W / w0, MAX_H / h0, MAX_SCALE);
    scale = Math.max(scale, Math.min(MIN_W / w0, MAX_SCALE)); // legible width for tall drawings
    scale = Math.min(scale, MAX_CANVAS / h0);
    this.scale = scale;
    const w = Math.max(20, Math.round(width * scale));
    const h = Math.max(20, Math.round(height * scale));
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * ratio);
    this.canvas.height = Math.round(h * ratio);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.node.style.width = `${w}px`;
    this.node.style.height = `${Math.min(h, MAX_H)}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    const color = getComputedStyle(this.canvas).color || '#888';
    ctx.setTransform(ratio * scale, 0, 0, ratio * scale, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1 / scale;
    for (const { box, frame } of boxes) {
      ctx.globalAlpha = frame ? 0.5 : 0.55;
      if (frame) {
        ctx.strokeRect(box.x, box.y, box.w, box.h);
      } else {
        ctx.fillRect(box.x, box.y, box.w, box.h);
      }
    }
  }

  /** Moves the viewport rectangle (drawing coordinates). */
  setViewport(view: IBox): void {
    const s = this.scale;
    // Hidden while the whole drawing is in view: then it has nothing to tell.
    this.node.hidden =
      view.x <= 0 && view.y <= 0 && view.x + view.w >= this.width && view.y + view.h >= this.height;
    const contentH = this.height * s;
    const nodeH = Math.min(contentH, MAX_H);
    const centre = (view.y + view.h / 2) * s;
    this.offset = Math.max(0, Math.min(contentH - nodeH, centre - nodeH / 2));
    this.canvas.style.transform = `translateY(${-this.offset}px)`;
    const x = Math.max(0, view.x * s);
    const y = Math.max(0, view.y * s);
    const right = Math.min(this.width * s, (view.x + view.w) * s);
    const bottom = Math.min(contentH, (view.y + view.h) * s);
    this.frame.style.left = `${x}px`;
    this.frame.style.top = `${y - this.offset}px`;
    this.frame.style.width = `${Math.max(2, right - x)}px`;
    this.frame.style.height = `${Math.max(2, bottom - y)}px`;
  }

  private onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    // The slice shown is fixed while dragging, so the pointer maps the same way throughout.
    const offset = this.offset;
    const move = (e: PointerEvent) => {
      const rect = this.node.getBoundingClientRect();
      this.moveTo(
        (e.clientX - rect.left) / this.scale,
        (e.clientY - rect.top + offset) / this.scale
      );
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    move(event);
  };
}
