/**
 * The sizes and text lines of the boxes the view draws, shared by layout (which needs
 * sizes before dot runs) and drawing (which writes the same lines). `names` adds each node's
 * name under its op type, as Netron's "show names" does.
 */
import { EDGE_LABEL_SIZE } from './dot';
import { ellipsize, textWidth } from './dom';
import { INodeItem, IWeight, Item } from './types';

/** Geometry constants, in pixels. */
export const NODE_HEADER = 20;
export const LINE = 13;
export const FRAME_HEADER = 24;
export const FRAME_PAD = 12;
export const STACK = 4;
const MAX_WEIGHT_LINES = 4;
const MAX_LABEL = 48;

let family = 'sans-serif';

/** Sets the font family text is measured in (the view's computed UI font). */
export function setFontFamily(value: string): void {
  if (value.trim()) {
    family = value;
  }
}

/** CSS font shorthands for the view's text styles. */
export const fonts = {
  title: () => `600 11px ${family}`,
  small: () => `10px ${family}`,
  edge: () => `${EDGE_LABEL_SIZE}px ${family}`
};

/** A folded weight's short name: the last part of its dotted or slashed path. */
export function weightName(name: string): string {
  const parts = name.split(/[./:]+/).filter(Boolean);
  return ellipsize(parts.length ? parts[parts.length - 1] : name, 16);
}

/**
 * One folded weight as its reader's chip writes it: by its role in the op schema where known
 * (else the short name), then its value where small (`B = 9.99e-06`), else its shape
 * (`W ⟨768×768⟩`).
 */
export function weightLine([name, shape, role, value]: IWeight): string {
  const label = role ? ellipsize(role, 16) : weightName(name);
  return `${label}${weightValue(shape, value === undefined ? value : ellipsize(value, 24))}`;
}

/** What follows a weight's name: its value where small (` = 2`), else its shape (` ⟨64×3⟩`). */
export function weightValue(shape: string, value: string | undefined): string {
  return value !== undefined ? ` = ${value}` : ` ⟨${shape || 'scalar'}⟩`;
}

/** The lines under a node's op type: its folded weights, `W ⟨768×768⟩`, `Y = 2`. */
export function weightLines(weights: IWeight[] | undefined): string[] {
  if (!weights || !weights.length) {
    return [];
  }
  const line = weightLine;
  if (weights.length <= MAX_WEIGHT_LINES) {
    return weights.map(line);
  }
  return [
    ...weights.slice(0, MAX_WEIGHT_LINES - 1).map(line),
    `+${weights.length - MAX_WEIGHT_LINES + 1} more`
  ];
}

/** The most characters of a node's name on its chip: a longer one keeps its end. */
const MAX_NAME = 30;

/** A node's name as its chip writes it when names are shown: its end, where it is long. */
export function nameLine(name: string): string {
  return name.length <= MAX_NAME ? name : `…${name.slice(-(MAX_NAME - 1))}`;
}

/** The lines under a node's op type: its name when `names` is on, then its weights. */
export function nodeLines(item: INodeItem, names: boolean): string[] {
  const weights = weightLines(item.weights);
  return names ? [nameLine(item.node), ...weights] : weights;
}

/** A label cut to a drawable length. */
export function shortLabel(label: string): string {
  return ellipsize(label, MAX_LABEL);
}

/** The second line of a collapsed group box. */
export function groupSubtitle(nodes: number): string {
  return `${nodes.toLocaleString('en-US')} node${nodes === 1 ? '' : 's'}`;
}

/** The second line of an input or output pill. */
export function valueSubtitle(dtype: string, shape: string): string {
  return shape ? `${dtype} ⟨${shape}⟩` : dtype;
}

function wider(min: number, ...widths: number[]): number {
  return Math.ceil(Math.max(min, ...widths));
}

/**
 * The size of an item's box when drawn collapsed. `note` is the extra line of an expanded
 * group whose contents are missing ("loading…", "not in this output").
 */
export function itemSize(item: Item, note: string | null, names = false): { w: number; h: number } {
  const title = fonts.title();
  const small = fonts.small();
  switch (item.kind) {
    case 'node': {
      const lines = nodeLines(item, names);
      const marker = item.graphs && item.graphs.length ? 16 : 0;
      const w = wider(
        56,
        textWidth(shortLabel(item.label), title) + 20 + marker,
        ...lines.map(l => textWidth(l, small) + 16)
      );
      return { w, h: lines.length ? NODE_HEADER + lines.length * LINE + 6 : NODE_HEADER + 2 };
    }
    case 'input':
    case 'output': {
      const w = wider(
        70,
        textWidth(shortLabel(item.label), title) + 28,
        textWidth(valueSubtitle(item.dtype, item.shape), small) + 28
      );
      return { w, h: 34 };
    }
    case 'ref':
      return { w: wider(40, textWidth(shortLabel(item.label), small) + 18), h: 18 };
    case 'group': {
      const stacked = item.repeat ? 2 * STACK : 0;
      const w = wider(
        90,
        textWidth(shortLabel(item.label), title) + 36,
        textWidth(groupSubtitle(item.nodes), small) + 36,
        note ? textWidth(note, small) + 24 : 0
      );
      return { w: w + stacked, h: 40 + (note ? LINE : 0) + stacked };
    }
  }
}

/** The minimum width of an expanded group's frame (its header must fit). */
export function frameMinWidth(label: string, nodes: number): number {
  return Math.ceil(
    textWidth(`▾ ${shortLabel(label)}`, fonts.title()) +
      textWidth(groupSubtitle(nodes), fonts.small()) +
      40
  );
}
