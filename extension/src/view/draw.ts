/**
 * Draws a laid-out level tree as SVG and indexes what it drew, so the viewer can find
 * an item's element and absolute box by item id, model node id or group id.
 * All model strings are written as SVG text nodes. Edge labels are placed last, and only
 * where they touch no box and no label already placed; every labelled edge keeps its label
 * as its tooltip.
 */
import { CSS } from './css';
import { EDGE_LABEL_SIZE, IBox, edgeLabelText } from './dot';
import { svg, svgText, textWidth } from './dom';
import { opCategory } from './palette';
import {
  FRAME_HEADER,
  NODE_HEADER,
  LINE,
  STACK,
  fonts,
  groupSubtitle,
  shortLabel,
  valueSubtitle,
  weightValue,
  nodeLines
} from './shapes';
import { ILevel, interiorOffset } from './tree';
import { Item } from './types';

/** One drawn item. */
export interface IDrawn {
  item: Item;
  /** The group whose level holds the item. */
  groupId: string;
  /** Absolute box in drawing coordinates. */
  box: IBox;
  el: SVGGElement;
  /** Whether the item is an expanded group drawn as a frame. */
  expanded: boolean;
}

/** What a drawing holds, indexed. */
export interface IDrawing {
  root: SVGGElement;
  width: number;
  height: number;
  items: IDrawn[];
  byId: Map<string, IDrawn>;
  /** Node and ref items by model node id. */
  byNode: Map<string, IDrawn[]>;
  /** Group items (collapsed boxes and frames) by group id. */
  byGroup: Map<string, IDrawn>;
}

function title(el: SVGElement, text: string): void {
  const node = svg('title');
  node.textContent = text;
  el.appendChild(node);
}

/** A path for a rectangle with rounded top corners only. */
function topRounded(w: number, h: number, r: number): string {
  return `M0,${h}V${r}Q0,0 ${r},0H${w - r}Q${w},0 ${w},${r}V${h}Z`;
}

function drawNode(g: SVGGElement, item: Item & { kind: 'node' }, box: IBox, names: boolean): void {
  const lines = nodeLines(item, names);
  g.classList.add(`${CSS}cat-${opCategory(item.op)}`);
  g.appendChild(svg('rect', { class: `${CSS}box`, width: box.w, height: box.h, rx: 3 }));
  if (lines.length) {
    g.appendChild(svg('path', { class: `${CSS}header`, d: topRounded(box.w, NODE_HEADER, 3) }));
  } else {
    g.appendChild(svg('rect', { class: `${CSS}header`, width: box.w, height: box.h, rx: 3 }));
  }
  const marker = item.graphs && item.graphs.length ? 16 : 0;
  g.appendChild(svgText(shortLabel(item.label), (box.w - marker) / 2, 14, `${CSS}op`));
  if (marker) {
    const icon = svg('g', {
      class: `${CSS}graphsMarker`,
      transform: `translate(${box.w - 15},5)`
    });
    icon.appendChild(svg('rect', { x: 0, y: 0, width: 8, height: 8, rx: 1 }));
    icon.appendChild(svg('rect', { x: 3, y: 3, width: 8, height: 8, rx: 1 }));
    g.appendChild(icon);
  }
  lines.forEach((line, i) => {
    g.appendChild(svgText(line, 8, NODE_HEADER + LINE * (i + 1) - 2, `${CSS}weight`, 'start'));
  });
  const weights = (item.weights ?? [])
    .map(
      ([name, shape, role, value]) =>
        `\n${role ? `${role}: ` : ''}${name}${weightValue(shape, value)}`
    )
    .join('');
  const graphs = (item.graphs ?? []).map(([name]) => `\nbody: ${name}`).join('');
  title(g, `${item.op}${item.domain ? ` (${item.domain})` : ''}\n${item.node}${weights}${graphs}`);
}

function drawValue(g: SVGGElement, item: Item & { kind: 'input' | 'output' }, box: IBox): void {
  g.appendChild(svg('rect', { class: `${CSS}box`, width: box.w, height: box.h, rx: box.h / 2 }));
  g.appendChild(svgText(shortLabel(item.label), box.w / 2, 14, `${CSS}label`));
  g.appendChild(svgText(valueSubtitle(item.dtype, item.shape), box.w / 2, 27, `${CSS}sub`));
  title(g, `${item.kind}: ${item.label}\n${valueSubtitle(item.dtype, item.shape)}`);
}

function drawRef(g: SVGGElement, item: Item & { kind: 'ref' }, box: IBox): void {
  g.appendChild(svg('rect', { class: `${CSS}box`, width: box.w, height: box.h, rx: 4 }));
  g.appendChild(svgText(shortLabel(item.label), box.w / 2, 12.5, `${CSS}sub`));
  title(g, `reference to ${item.node}`);
}

function drawGroup(
  g: SVGGElement,
  item: Item & { kind: 'group' },
  box: IBox,
  note: string | null
): void {
  const stacked = item.repeat ? 2 * STACK : 0;
  const w = box.w - stacked;
  const h = box.h - stacked;
  for (let k = stacked ? 2 : 0; k >= 1; k--) {
    g.appendChild(
      svg('rect', {
        class: `${CSS}box ${CSS}card`,
        x: k * STACK,
        y: k * STACK,
        width: w,
        height: h,
        rx: 4
      })
    );
  }
  g.appendChild(svg('rect', { class: `${CSS}box`, width: w, height: h, rx: 4 }));
  g.appendChild(svgText(`▸ ${shortLabel(item.label)}`, w / 2, 17, `${CSS}label`));
  g.appendChild(svgText(groupSubtitle(item.nodes), w / 2, 31, `${CSS}sub`));
  if (note) {
    g.appendChild(svgText(note, w / 2, 31 + LINE, `${CSS}note`));
  }
  title(g, `${item.label}\n${groupSubtitle(item.nodes)}\nclick to expand`);
}

function drawFrameHeader(g: SVGGElement, item: Item & { kind: 'group' }, box: IBox): void {
  g.appendChild(svg('rect', { class: `${CSS}frameBox`, width: box.w, height: box.h, rx: 5 }));
  const header = svg('g', { class: `${CSS}frameHeader` });
  header.appendChild(svg('path', { class: `${CSS}header`, d: topRounded(box.w, FRAME_HEADER, 5) }));
  header.appendChild(svgText(`▾ ${shortLabel(item.label)}`, 10, 16, `${CSS}label`, 'start'));
  header.appendChild(svgText(groupSubtitle(item.nodes), box.w - 10, 16, `${CSS}sub`, 'end'));
  title(header, `${item.label}\nclick to collapse`);
  g.appendChild(header);
}

/** An edge label waiting to be placed. */
interface ILabelSpot {
  /** The edge's element, which gets the label's text. */
  edge: SVGGElement;
  text: string;
  /** The label's centre, in its level's coordinates. */
  x: number;
  y: number;
  /** The room the label takes, in drawing coordinates. */
  box: IBox;
  /** The boxes of the label's level (frames whole), in drawing coordinates. */
  boxes: IBox[];
}

/** Whether two boxes overlap (touching edges do not count). */
export function boxesMeet(a: IBox, b: IBox): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** The room (px) an edge label keeps around its text. */
const LABEL_PAD = 1;
/** The side (px) of the grid cells that index the labels placed. */
const LABEL_CELL = 64;

/**
 * Which edge labels to draw: in order, each that meets no box of its level and no label
 * kept before it. Returns the indices kept.
 */
export function placeLabels(spots: Array<{ box: IBox; boxes: IBox[] }>): number[] {
  const grid = new Map<string, IBox[]>();
  const cells = (box: IBox): string[] => {
    const keys: string[] = [];
    for (
      let i = Math.floor(box.x / LABEL_CELL);
      i <= Math.floor((box.x + box.w) / LABEL_CELL);
      i++
    ) {
      for (
        let j = Math.floor(box.y / LABEL_CELL);
        j <= Math.floor((box.y + box.h) / LABEL_CELL);
        j++
      ) {
        keys.push(`${i},${j}`);
      }
    }
    return keys;
  };
  const kept: number[] = [];
  spots.forEach((spot, index) => {
    const keys = cells(spot.box);
    const clash =
      spot.boxes.some(b => boxesMeet(b, spot.box)) ||
      keys.some(key => (grid.get(key) ?? []).some(b => boxesMeet(b, spot.box)));
    if (clash) {
      return; // dropped: the edge's tooltip still holds the label
    }
    kept.push(index);
    for (const key of keys) {
      const list = grid.get(key);
      if (list) {
        list.push(spot.box);
      } else {
        grid.set(key, [spot.box]);
      }
    }
  });
  return kept;
}

/** Draws `level` (and the interiors of its expanded items) into a new SVG group. */
export function drawTree(
  level: ILevel,
  note: (groupId: string) => string | null,
  names = false
): IDrawing {
  const drawing: IDrawing = {
    root: svg('g', { class: `${CSS}drawing` }),
    width: level.width,
    height: level.height,
    items: [],
    byId: new Map(),
    byNode: new Map(),
    byGroup: new Map()
  };
  const spots: ILabelSpot[] = [];
  drawLevel(drawing, drawing.root, level, 0, 0, note, spots, names);
  for (const index of placeLabels(spots)) {
    const spot = spots[index];
    // The text's middle sits on the point dot gave (its baseline a third of the size below).
    const baseline = spot.y + EDGE_LABEL_SIZE / 3;
    spot.edge.appendChild(svgText(spot.text, spot.x, baseline, `${CSS}edgeLabel`));
  }
  return drawing;
}

function drawLevel(
  drawing: IDrawing,
  parent: SVGGElement,
  level: ILevel,
  ox: number,
  oy: number,
  note: (groupId: string) => string | null,
  spots: ILabelSpot[],
  names: boolean
): void {
  const { group } = level;
  const edges = svg('g', { class: `${CSS}edges` });
  parent.appendChild(edges);
  const boxes = level.boxes.map(b => ({ x: b.x + ox, y: b.y + oy, w: b.w, h: b.h }));
  const labelFont = fonts.edge();
  for (const path of level.edges) {
    const [from, to, label] = group.edges[path.index];
    const e = svg('g', {
      class: `${CSS}edge`,
      'data-from': group.items[from].id,
      'data-to': group.items[to].id
    });
    e.appendChild(svg('path', { class: `${CSS}spline`, d: path.spline }));
    e.appendChild(svg('path', { class: `${CSS}arrow`, d: path.arrow }));
    if (path.label && label) {
      const text = edgeLabelText(label);
      const w = textWidth(text, labelFont) + 2 * LABEL_PAD;
      const h = EDGE_LABEL_SIZE + 2 * LABEL_PAD + 2;
      const { x, y } = path.label;
      const box = { x: x + ox - w / 2, y: y + oy - h / 2, w, h };
      spots.push({ edge: e, text, x, y, box, boxes });
    }
    if (label) {
      title(e, label);
    }
    edges.appendChild(e);
  }
  level.group.items.forEach((item, i) => {
    const local = level.boxes[i];
    const box = { x: local.x + ox, y: local.y + oy, w: local.w, h: local.h };
    const interior = level.children.get(i);
    const g = svg('g', {
      class: `${CSS}item ${CSS}${item.kind}`,
      transform: `translate(${local.x.toFixed(1)},${local.y.toFixed(1)})`,
      'data-id': item.id,
      'data-kind': item.kind
    });
    if (item.kind === 'node' || item.kind === 'ref') {
      g.setAttribute('data-node', item.node);
    }
    if (item.kind === 'group') {
      g.setAttribute('data-group', item.group);
      if (item.repeat) {
        g.classList.add(`${CSS}repeat`);
      }
    }
    const drawn: IDrawn = { item, groupId: group.id, box, el: g, expanded: !!interior };
    switch (item.kind) {
      case 'node':
        drawNode(g, item, box, names);
        break;
      case 'input':
      case 'output':
        drawValue(g, item, box);
        break;
      case 'ref':
        drawRef(g, item, box);
        break;
      case 'group':
        if (interior) {
          g.classList.add(`${CSS}frame`);
          drawFrameHeader(g, item, box);
          const offset = interiorOffset(local, interior);
          const inner = svg('g', {
            class: `${CSS}interior`,
            transform: `translate(${offset.x.toFixed(1)},${offset.y.toFixed(1)})`
          });
          g.appendChild(inner);
          drawLevel(
            drawing,
            inner,
            interior,
            box.x + offset.x,
            box.y + offset.y,
            note,
            spots,
            names
          );
        } else {
          drawGroup(g, item, box, note(item.group));
        }
        break;
    }
    parent.appendChild(g);
    drawing.items.push(drawn);
    drawing.byId.set(item.id, drawn);
    if (item.kind === 'node' || item.kind === 'ref') {
      const list = drawing.byNode.get(item.node);
      if (list) {
        list.push(drawn);
      } else {
        drawing.byNode.set(item.node, [drawn]);
      }
    } else if (item.kind === 'group') {
      drawing.byGroup.set(item.group, drawn);
    }
  });
}

/**
 * Takes the edge labels out of a drawing (the `edgeLabels` option off): the edges stay, each
 * with its label as its tooltip.
 */
export function dropEdgeLabels(drawing: IDrawing): void {
  drawing.root.querySelectorAll(`text.${CSS}edgeLabel`).forEach(label => label.remove());
}

/**
 * The drawn item an event target is in, if any. Inside an expanded group's frame only its
 * header counts as the group: the rest is background.
 */
export function drawnAt(drawing: IDrawing | null, target: EventTarget | null): IDrawn | undefined {
  const el = target instanceof Element ? target.closest(`.${CSS}item`) : null;
  if (!el || !drawing) {
    return undefined;
  }
  const drawn = drawing.byId.get(el.getAttribute('data-id') ?? '');
  if (drawn?.expanded && !(target as Element).closest(`.${CSS}frameHeader`)) {
    return undefined; // inside a frame but not on its header: background
  }
  return drawn;
}
