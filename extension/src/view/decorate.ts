/**
 * What the view paints on a drawing after layout: the state classes of selected,
 * highlighted and found items, breakpoint badges and gutters, overlay colours (a numeric
 * scale, or a model diff's statuses and its groups' count badges), and the overlay's legend.
 * Model nodes hidden in collapsed groups are shown on the nearest drawn group around them.
 */
import { CSS } from './css';
import {
  DIFF_STATUSES,
  IBadgePart,
  STATUS_NAMES,
  badgeParts,
  badgeTitle,
  diffStatus,
  diffTotals,
  groupStatus,
  isDiffOverlay
} from './diff';
import { html, svg, svgText, textWidth } from './dom';
import { IDrawing, IDrawn } from './draw';
import { GroupStore, ancestry } from './groups';
import { scaleColor, scaleGradient, scaleTextDark } from './palette';
import { ISearchResult } from './search';
import { STACK, fonts } from './shapes';
import { DiffStatus, IDiffOverlay, IOverlay, IScaleOverlay, Item, NodeMark } from './types';

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
  'darkText',
  'diffed',
  ...DIFF_STATUSES.map(status => `diff-${status}`)
];
/** Height of a group's diff badge, which straddles the top edge of its box or frame. */
const DIFF_BADGE_HEIGHT = 14;
/** How far the badge reaches above that edge: more than half, to stay clear of the text below. */
const DIFF_BADGE_RISE = 9;
/** Room on each side of a count in a diff badge's segment, and between segments. */
const DIFF_BADGE_PAD = 4;
const DIFF_BADGE_GAP = 2;
/** How far a diff badge stays from the right edge of its box. */
const DIFF_BADGE_INSET = 6;

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
export function overlayPosition(value: number, overlay: IScaleOverlay): number {
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

/**
 * Draws a group's diff badge: one coloured segment per kind of change inside (`+1 −2 ~3`),
 * straddling the top edge at the right of its box (of its header, when expanded), clear of
 * the label; its tooltip spells the counts out.
 */
function drawDiffBadge(d: IDrawn, parts: IBadgePart[]): SVGGElement {
  const font = fonts.small();
  const widths = parts.map(p => Math.ceil(textWidth(p.text, font)) + 2 * DIFF_BADGE_PAD);
  const width = widths.reduce((sum, w) => sum + w, 0) + DIFF_BADGE_GAP * (parts.length - 1);
  const item = d.item;
  const stacked = !d.expanded && item.kind === 'group' && item.repeat ? 2 * STACK : 0;
  const right = d.box.w - stacked;
  const badge = svg('g', {
    class: `${CSS}diffBadge`,
    transform: `translate(${Math.max(0, right - width - DIFF_BADGE_INSET)},${-DIFF_BADGE_RISE})`
  });
  let x = 0;
  parts.forEach((part, i) => {
    const segment = svg('g', { class: `${CSS}diff-${part.status}` });
    segment.append(
      svg('rect', { x, width: widths[i], height: DIFF_BADGE_HEIGHT, rx: 3 }),
      svgText(part.text, x + widths[i] / 2, DIFF_BADGE_HEIGHT - 3.5, `${CSS}diffCount`)
    );
    badge.appendChild(segment);
    x += widths[i] + DIFF_BADGE_GAP;
  });
  const tip = svg('title');
  tip.textContent = badgeTitle(parts);
  badge.appendChild(tip);
  const header = d.expanded ? d.el.querySelector(`:scope > .${CSS}frameHeader`) : null;
  (header ?? d.el).appendChild(badge);
  return badge;
}

/** Paints the decorations on a drawing, replacing what it painted before. */
export class Decorations {
  private badges: SVGElement[] = [];
  private diffBadges: SVGElement[] = [];

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
    this.diffBadges.forEach(el => el.remove());
    this.diffBadges = [];
    if (isDiffOverlay(overlay)) {
      this.paintDiff(drawing, overlay);
    } else if (overlay) {
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

  /**
   * Paints a model diff: each node (and reference) in its status's colour, each group that
   * holds changes tinted and badged with their counts, the rest muted as `same`.
   */
  private paintDiff(drawing: IDrawing, overlay: IDiffOverlay): void {
    for (const d of drawing.items) {
      const item = d.item;
      let status: DiffStatus;
      if (item.kind === 'group') {
        const parts = badgeParts(overlay.counts[item.group]);
        status = groupStatus(parts);
        if (parts.length) {
          this.diffBadges.push(drawDiffBadge(d, parts));
        }
      } else if (item.kind === 'node' || item.kind === 'ref') {
        status = diffStatus(overlay.values[item.node]);
      } else {
        continue; // graph inputs and outputs have no status
      }
      d.el.classList.add(`${CSS}diff-${status}`);
      if (status !== 'same') {
        d.el.classList.add(`${CSS}diffed`);
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

/**
 * Shows an overlay's legend in `legend`, or hides it: a numeric one's label, colour bar, min
 * and max; a diff's label and each status's colour with how many nodes have it.
 */
export function renderLegend(legend: HTMLElement, overlay: IOverlay | null): void {
  legend.replaceChildren();
  legend.hidden = !overlay;
  legend.classList.toggle(`${CSS}diffLegend`, isDiffOverlay(overlay));
  if (!overlay) {
    return;
  }
  if (isDiffOverlay(overlay)) {
    const rows = html('div', `${CSS}legendRows`);
    for (const [status, total] of diffTotals(overlay)) {
      const row = html('div', `${CSS}legendRow ${CSS}diff-${status}`);
      row.dataset.status = status;
      row.append(
        html('span', `${CSS}legendSwatch`),
        html('span', `${CSS}legendName`, STATUS_NAMES[status]),
        html('span', `${CSS}legendTotal`, total.toLocaleString('en-US'))
      );
      rows.appendChild(row);
    }
    legend.append(html('div', `${CSS}legendLabel`, overlay.label), rows);
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
