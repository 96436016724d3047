/**
 * The model diff's overlay (docs/view-schema.md, "Diff overlay"): which status each drawn item
 * shows, the count badges of groups that hold changes, and the legend's categories. Pure: the
 * drawing is done by decorate.ts, the colours by the stylesheet (a class per status).
 */
import { ChangeStatus, DiffStatus, IDiffOverlay, IOverlay } from './types';

/** The statuses a group's counts hold, in the order badges and the legend list them. */
export const CHANGE_STATUSES: readonly ChangeStatus[] = [
  'added',
  'removed',
  'changed',
  'fused',
  'qdq'
];

/** Every status, in the legend's order. */
export const DIFF_STATUSES: readonly DiffStatus[] = [...CHANGE_STATUSES, 'same'];

/** How a status reads in the legend and in tooltips. */
export const STATUS_NAMES: { [S in DiffStatus]: string } = {
  added: 'added',
  removed: 'removed',
  changed: 'changed',
  fused: 'fused',
  qdq: 'QDQ inserted',
  same: 'same'
};

/** The sign before a count in a group's badge: `+1 −2 ~3`. */
const SIGNS: { [S in ChangeStatus]: string } = {
  added: '+',
  removed: '−',
  changed: '~',
  fused: '⊕',
  qdq: 'q'
};

/** Whether an overlay is a model diff's (categorical) rather than a numeric scale. */
export function isDiffOverlay(overlay: IOverlay | null | undefined): overlay is IDiffOverlay {
  return !!overlay && overlay.kind === 'diff';
}

/** A status from the payload, or `same` for anything this version does not know. */
export function diffStatus(value: unknown): DiffStatus {
  return typeof value === 'string' && (DIFF_STATUSES as readonly string[]).includes(value)
    ? (value as DiffStatus)
    : 'same';
}

/** One segment of a group's badge: the status, its count, and the text drawn (`−2`). */
export interface IBadgePart {
  status: ChangeStatus;
  count: number;
  text: string;
}

/** The segments of a group's badge, in `CHANGE_STATUSES` order; none for a group with no change. */
export function badgeParts(
  counts: Partial<Record<ChangeStatus, number>> | undefined
): IBadgePart[] {
  const parts: IBadgePart[] = [];
  for (const status of CHANGE_STATUSES) {
    const count = counts?.[status];
    if (typeof count === 'number' && count > 0) {
      parts.push({ status, count, text: `${SIGNS[status]}${count.toLocaleString('en-US')}` });
    }
  }
  return parts;
}

/** A badge's tooltip: its counts spelled out, `inside: 1 added, 2 removed, 3 changed`. */
export function badgeTitle(parts: IBadgePart[]): string {
  const nodes = (n: number) => `${n.toLocaleString('en-US')} node${n === 1 ? '' : 's'}`;
  const spelled = parts.map(p => `${nodes(p.count)} ${STATUS_NAMES[p.status]}`);
  return `inside: ${spelled.join(', ')}`;
}

/**
 * The status a group is tinted by: its one kind of change, `changed` where it holds several
 * kinds, `same` where it holds none.
 */
export function groupStatus(parts: IBadgePart[]): DiffStatus {
  if (!parts.length) {
    return 'same';
  }
  return parts.length === 1 ? parts[0].status : 'changed';
}

/** The legend's rows: each status some node has, with how many nodes have it. */
export function diffTotals(overlay: IDiffOverlay): Array<[DiffStatus, number]> {
  const totals = new Map<DiffStatus, number>();
  for (const value of Object.values(overlay.values)) {
    const status = diffStatus(value);
    totals.set(status, (totals.get(status) ?? 0) + 1);
  }
  return DIFF_STATUSES.filter(s => totals.has(s)).map(s => [s, totals.get(s) ?? 0]);
}
