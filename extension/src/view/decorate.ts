/**
 * What the view paints on a drawing after layout: the state classes of selected,
 * highlighted and found items, breakpoint badges and gutters, overlay colours, and the
 * overlay's legend. Model nodes hidden in collapsed groups are shown on the nearest drawn
 * group around them.
 */
import { CSS } from './css';
import { html, svg } from './dom';
import { IDrawing, IDrawn } from './draw';
import { GroupStore, ancestry } from './groups';
import { scaleColor, scaleGradient, scaleTextDark } from './palette';
import { ISearchResult } from './search';
import { IOverlay, Item, NodeMark } from './types';

/** Width of a node's left edge that toggles its breakpoint, while breakpoint clicks are on. */
const GUTTER = 12;
/** Radius of the badge drawn at a marked node's left edge. */
const BADGE_RADIUS = 5;
/** The custom property an overlay colour is set in. */
const FILL = `--${CSS}fill`;
/** The state classes `decorate` sets (without the prefix). */
const STATE_CLASSES = [
  'selected',
  'contains',
  'highlighted',
  'hit',
  'currentHit',
  'overlaid',
  'darkText'
];

/** What the decorations show. */
export interface IDecorState {
  selectedNodes: string[];
  /** A selected item that is not a model node (a group, an input or an output). */
  selectedItem: string | null;
  highlighted: string[];
  marks: { [nodeId: string]: NodeMark };
  searchResult: ISearchResult | null;
  hitIndex: number;
  overlay: IOverlay | null;
}

/** The id an overlay's values are keyed by for an item: its model node or group, else null. */
export function overlayKey(item: Item): string | null {
  if (item.kind === 'node' || item.kind === 'ref') {
    return item.node;
  }
  return item.kind === 'group' ? item.group : null;
}

/** Where a value lies on an overlay's scale, 0 at its min to 1 at its max. */
export function overlayPosition(value: number, overlay: IOverlay): number {
  const span = overlay.max - overlay.min || 1;
  return (value - overlay.min) / span;
}

/** A number as the legend writes it: grouped when large or whole, else 3 significant digits. */
export function legendNumber(n: number): string {
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? n.toLocaleString('en-US') : n.toPrecision(3);
}

/** The drawn item for a group, or for the nearest drawn group around it. */
export function drawnGroupAround(
  drawing: IDrawing | null,
  groups: GroupStore,
  groupId: string | undefined
): IDrawn | undefined {
  for (const gid of ancestry(groupId, id => groups.parentOf(id))) {
    const drawn = drawing?.byGroup.get(gid);
    if (drawn) {
      return drawn;
    }
  }
  return undefined;
}

/** The drawn items standing for a model node: the node itself, else its nearest drawn group. */
export function drawnFor(drawing: IDrawing | null, groups: GroupStore, nodeId: string): IDrawn[] {
  const direct = drawing?.byNode.get(nodeId);
  if (direct) {
    return direct;
  }
  const around = drawnGroupAround(drawing, groups, groups.groupOfNode(nodeId) ?? nodeId);
  return around ? [around] : [];
}

/** Adds (or removes) the left-edge strip of each node that toggles its breakpoint. */
export function drawGutters(drawing: IDrawing, enabled: boolean): void {
  drawing.root.querySelectorAll(`.${CSS}gutter`).forEach(el => el.remove());
  if (!enabled) {
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

/** Paints the decorations on a drawing, replacing what it painted before. */
export class Decorations {
  private badges: SVGElement[] = [];

  constructor(private groups: GroupStore) {}

  /** Re-applies every state class, badge and overlay colour to a drawing. */
  apply(drawing: IDrawing, state: IDecorState): void {
    this.drawBadges(drawing, state.marks);
    for (const d of drawing.items) {
      for (const name of STATE_CLASSES) {
        d.el.classList.remove(`${CSS}${name}`);
      }
      d.el.style.removeProperty(FILL);
    }
    const mark = (list: IDrawn[], name: string) =>
      list.forEach(d => d.el.classList.add(`${CSS}${name}`));
    for (const id of state.selectedNodes) {
      const drawn = drawnFor(drawing, this.groups, id);
      mark(drawn, drawn.length && drawn[0].item.kind === 'group' ? 'contains' : 'selected');
    }
    if (state.selectedItem) {
      const drawn = drawing.byId.get(state.selectedItem);
      if (drawn) {
        mark([drawn], 'selected');
      }
    }
    for (const id of state.highlighted) {
      mark(drawnFor(drawing, this.groups, id), 'highlighted');
    }
    state.searchResult?.hits.forEach((hit, i) => {
      const drawn =
        drawing.byId.get(hit.itemId) ?? drawnGroupAround(drawing, this.groups, hit.groupId);
      if (drawn) {
        mark([drawn], i === state.hitIndex ? 'currentHit' : 'hit');
      }
    });
    const overlay = state.overlay;
    if (overlay) {
      for (const d of drawing.items) {
        const key = overlayKey(d.item);
        const value = key === null ? undefined : overlay.values[key];
        if (typeof value === 'number') {
          const t = overlayPosition(value, overlay);
          d.el.style.setProperty(FILL, scaleColor(t));
          d.el.classList.add(`${CSS}overlaid`);
          if (scaleTextDark(t)) {
            d.el.classList.add(`${CSS}darkText`);
          }
        }
      }
    }
  }

  /** Draws the marks' badges: on the marked node, else on the drawn group around it. */
  private drawBadges(drawing: IDrawing, marks: { [nodeId: string]: NodeMark }): void {
    this.badges.forEach(el => el.remove());
    this.badges = [];
    for (const [nodeId, mark] of Object.entries(marks)) {
      if (mark !== 'breakpoint') {
        continue; // the only mark there is; anything else is not drawn
      }
      for (const d of drawnFor(drawing, this.groups, nodeId)) {
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
}

/** Shows an overlay's legend (label, colour bar, min and max) in `legend`, or hides it. */
export function renderLegend(legend: HTMLElement, overlay: IOverlay | null): void {
  legend.replaceChildren();
  legend.hidden = !overlay;
  if (!overlay) {
    return;
  }
  const bar = html('div', `${CSS}legendBar`);
  bar.style.background = scaleGradient();
  const ends = html('div', `${CSS}legendEnds`);
  ends.append(
    html('span', undefined, legendNumber(overlay.min)),
    html('span', undefined, legendNumber(overlay.max))
  );
  legend.append(html('div', `${CSS}legendLabel`, overlay.label), bar, ends);
}
