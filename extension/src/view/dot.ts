/**
 * One level of the graph through Graphviz `dot`: boxes of known size and the edges
 * between them go in as DOT, positions and edge splines come back from dot's `plain`
 * output. Nodes are named by index (`n0`, `n1`, ...) and edge labels are escaped, so no
 * model string can change the DOT source's meaning.
 */
import type { Graphviz } from '@hpcc-js/wasm-graphviz';

/** A box, top-left corner and size, in pixels (1 px = 1 pt). */
export interface IBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** An edge as drawn: an SVG path for its spline, one for its arrow head, its label's place. */
export interface IEdgePath {
  /** Index of the edge in the group's edge list. */
  index: number;
  spline: string;
  arrow: string;
  /** Centre of the label, or null where dot placed none. */
  label: { x: number; y: number } | null;
}

/** The geometry of one level. */
export interface ILevelGeometry {
  width: number;
  height: number;
  boxes: IBox[];
  edges: IEdgePath[];
}

/** An edge to lay out: from and to are box indices. */
export interface IEdgeSpec {
  from: number;
  to: number;
  label: string;
}

const ARROW_LENGTH = 7; // dot's arrowsize 0.7 × 10 pt
const ARROW_HALF_WIDTH = 3.5;
const MAX_LABEL = 40;
/** The font size (px) of edge labels: dot reserves room for them at this size. */
export const EDGE_LABEL_SIZE = 11;

/** An edge label as drawn: on one line, cut to {@link MAX_LABEL} characters. */
export function edgeLabelText(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > MAX_LABEL ? `${flat.slice(0, MAX_LABEL - 1)}…` : flat;
}

function quote(text: string): string {
  return `"${edgeLabelText(text).replace(/[\\"]/g, c => `\\${c}`)}"`;
}

function inches(px: number): string {
  return (px / 72).toFixed(4);
}

/** Which way the data flows in a drawing: top to bottom (`TB`) or left to right (`LR`). */
export type LayoutDirection = 'TB' | 'LR';

/** The DOT source for boxes of the given sizes and the edges between them. */
export function levelDot(
  sizes: Array<{ w: number; h: number }>,
  edges: IEdgeSpec[],
  withLabels: boolean,
  direction: LayoutDirection = 'TB'
): string {
  const lines = [
    'digraph L {',
    `graph [rankdir=${direction}, nodesep=0.22, ranksep=${withLabels ? 0.18 : 0.32}, margin=0];`,
    'node [shape=box, fixedsize=true, label=""];',
    `edge [arrowsize=0.7, fontsize=${EDGE_LABEL_SIZE}, fontname="Helvetica"];`
  ];
  sizes.forEach((size, i) => {
    lines.push(`n${i} [width=${inches(size.w)}, height=${inches(size.h)}];`);
  });
  for (const edge of edges) {
    const label = withLabels && edge.label ? ` [label=${quote(edge.label)}]` : '';
    lines.push(`n${edge.from} -> n${edge.to}${label};`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** Splits a line of dot's `plain` output into tokens (double-quoted strings unquoted). */
export function plainTokens(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ') {
      i += 1;
    } else if (c === '"') {
      let token = '';
      i += 1;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) {
          i += 1;
        }
        token += line[i];
        i += 1;
      }
      tokens.push(token);
      i += 1;
    } else {
      const end = line.indexOf(' ', i);
      const stop = end < 0 ? line.length : end;
      tokens.push(line.slice(i, stop));
      i = stop;
    }
  }
  return tokens;
}

function arrowHead(points: Array<[number, number]>): string {
  const [bx, by] = points[points.length - 1];
  let dx = 0;
  let dy = 0;
  for (let k = points.length - 2; k >= 0 && dx === 0 && dy === 0; k--) {
    dx = bx - points[k][0];
    dy = by - points[k][1];
  }
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  const tip = [bx + ux * ARROW_LENGTH, by + uy * ARROW_LENGTH];
  const f = (n: number) => n.toFixed(1);
  return (
    `M${f(tip[0])},${f(tip[1])}` +
    `L${f(bx - uy * ARROW_HALF_WIDTH)},${f(by + ux * ARROW_HALF_WIDTH)}` +
    `L${f(bx + uy * ARROW_HALF_WIDTH)},${f(by - ux * ARROW_HALF_WIDTH)}Z`
  );
}

/** Reads dot's `plain` output back into geometry (y flipped to grow downwards). */
export function parsePlain(
  plain: string,
  sizes: Array<{ w: number; h: number }>,
  edges: IEdgeSpec[]
): ILevelGeometry {
  const edgeIndex = new Map<string, number>();
  edges.forEach((edge, i) => edgeIndex.set(`${edge.from}>${edge.to}`, i));
  const boxes: IBox[] = sizes.map(size => ({ x: 0, y: 0, w: size.w, h: size.h }));
  const paths: IEdgePath[] = [];
  let height = 0;
  let width = 0;
  const index = (name: string) => Number(name.slice(1));
  for (const line of plain.split('\n')) {
    const t = plainTokens(line.trim());
    if (t[0] === 'graph') {
      width = Number(t[2]) * 72;
      height = Number(t[3]) * 72;
    } else if (t[0] === 'node') {
      const box = boxes[index(t[1])];
      if (box) {
        box.x = Number(t[2]) * 72 - box.w / 2;
        box.y = height - Number(t[3]) * 72 - box.h / 2;
      }
    } else if (t[0] === 'edge') {
      const i = edgeIndex.get(`${index(t[1])}>${index(t[2])}`);
      const n = Number(t[3]);
      if (i === undefined || !(n >= 2)) {
        continue;
      }
      const points: Array<[number, number]> = [];
      for (let k = 0; k < n; k++) {
        points.push([Number(t[4 + 2 * k]) * 72, height - Number(t[5 + 2 * k]) * 72]);
      }
      const f = (p: [number, number]) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`;
      let spline = `M${f(points[0])}`;
      for (let k = 1; k + 2 < n; k += 3) {
        spline += `C${f(points[k])} ${f(points[k + 1])} ${f(points[k + 2])}`;
      }
      const rest = t.slice(4 + 2 * n);
      // After the points: [label xl yl] style color.
      const label =
        rest.length >= 5 ? { x: Number(rest[1]) * 72, y: height - Number(rest[2]) * 72 } : null;
      paths.push({ index: i, spline, arrow: arrowHead(points), label });
    }
  }
  return { width, height, boxes, edges: paths };
}

/** Lays out one level with dot. Edge labels are left to dot when the level is small. */
export function layoutLevel(
  gv: Graphviz,
  sizes: Array<{ w: number; h: number }>,
  edges: IEdgeSpec[],
  direction: LayoutDirection = 'TB'
): ILevelGeometry {
  if (sizes.length === 0) {
    return { width: 0, height: 0, boxes: [], edges: [] };
  }
  const withLabels = sizes.length + edges.length <= 1200;
  const plain = gv.layout(levelDot(sizes, edges, withLabels, direction), 'plain', 'dot');
  return parsePlain(plain, sizes, edges);
}
