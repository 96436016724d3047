/**
 * DOM helpers for the graph view. Model strings only ever reach the page through
 * `textContent` and `setAttribute` on harmless attributes (class, data-*, geometry).
 */
import { CSS } from './css';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an HTML element with an optional class and text. */
export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Creates an SVG element with the given attributes (numbers are written as they are). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: { [name: string]: string | number } = {}
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, String(value));
  }
  return node;
}

/** Creates an SVG `<text>` element holding `text` as a text node. */
export function svgText(
  text: string,
  x: number,
  y: number,
  className: string,
  anchor: 'start' | 'middle' | 'end' = 'middle'
): SVGTextElement {
  const node = svg('text', { x, y, class: className, 'text-anchor': anchor });
  node.textContent = text;
  return node;
}

/** Creates a button with a text glyph and a tooltip. */
export function button(
  className: string,
  glyph: string,
  title: string,
  onClick: () => void
): HTMLButtonElement {
  const node = html('button', `${CSS}button ${className}`, glyph);
  node.type = 'button';
  node.title = title;
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

const textWidths = new Map<string, number>();
let context: CanvasRenderingContext2D | null = null;
/**
 * SVG text can come out wider than the canvas measured it: a glyph the font lacks (⟨ ⟩)
 * falls back to another font, and hinting differs. Seen up to ~6% in Chromium; boxes are
 * sized with this much room so labels never run into their neighbours.
 */
const MEASURE_SLACK = 1.08;

/**
 * The width in pixels of `text` in `font` (a CSS font shorthand), measured on a canvas
 * (with {@link MEASURE_SLACK}) and cached; falls back to an estimate where canvas text
 * metrics are unavailable.
 */
export function textWidth(text: string, font: string): number {
  const key = `${font}\u0000${text}`;
  let width = textWidths.get(key);
  if (width === undefined) {
    if (!context) {
      context = document.createElement('canvas').getContext('2d');
    }
    if (context) {
      context.font = font;
      width = context.measureText(text).width * MEASURE_SLACK;
    } else {
      width = text.length * 7;
    }
    if (textWidths.size > 50000) {
      textWidths.clear();
    }
    textWidths.set(key, width);
  }
  return width;
}

/** Shortens `text` to at most `max` characters with an ellipsis in the middle. */
export function ellipsize(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}
