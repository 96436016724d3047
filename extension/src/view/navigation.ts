/**
 * Where the view is in the model: which groups are expanded, and the stack of roots
 * entered (the main graph, then subgraph or function bodies) with the view each root had
 * when it was left. No DOM: the viewer redraws after what these methods report.
 */
import type { IDrawing } from './draw';
import { GroupStore, ancestry, depthBelow, rootLabel } from './groups';
import { ITransform } from './panzoom';

/** A root the view can show: the main graph or an entered subgraph/function body. */
export interface IRoot {
  id: string;
  label: string;
}

/** What {@link Navigation.reveal} changed. */
export interface IRevealed {
  /** Groups were expanded. */
  expanded: boolean;
  /** The root shown changed: the breadcrumb and the first view must be redone. */
  rootChanged: boolean;
}

/**
 * The groups to expand for "one more level": of the collapsed groups drawn, those at the
 * shallowest depth below the root.
 */
export function shallowestGroups(
  collapsed: Array<{ group: string; groupId: string }>,
  depth: (groupId: string) => number
): string[] {
  const shallowest = Math.min(...collapsed.map(c => depth(c.groupId)));
  return collapsed.filter(c => depth(c.groupId) === shallowest).map(c => c.group);
}

/** The expanded groups and the roots entered. */
export class Navigation {
  private expandedIds = new Set<string>();
  private stack: IRoot[];
  private views = new Map<string, ITransform>();

  constructor(
    private groups: GroupStore,
    mainRoot: string
  ) {
    this.stack = [{ id: mainRoot, label: 'main graph' }];
  }

  /** The roots entered, the main graph first and the root shown last. */
  get roots(): IRoot[] {
    return this.stack;
  }

  /** The id of the root shown. */
  get rootId(): string {
    return this.stack[this.stack.length - 1].id;
  }

  /** Whether a group is expanded. */
  isExpanded(groupId: string): boolean {
    return this.expandedIds.has(groupId);
  }

  /** The expanded groups, sorted. */
  expandedList(): string[] {
    return [...this.expandedIds].sort();
  }

  /** Expands (loading what is missing) or collapses groups; whether anything changed. */
  setExpanded(groupIds: string[], expand: boolean): boolean {
    let changed = false;
    for (const id of groupIds) {
      if (expand && !this.expandedIds.has(id)) {
        this.expandedIds.add(id);
        this.groups.load(id);
        changed = true;
      } else if (!expand && this.expandedIds.delete(id)) {
        changed = true;
      }
    }
    return changed;
  }

  /** The depth of a group below the root shown. */
  depth(groupId: string): number {
    return depthBelow(groupId, this.rootId, id => this.groups.parentOf(id));
  }

  /**
   * The groups "expand one more level" expands in a drawing: the selected group item if it
   * is collapsed, else every collapsed group drawn at the shallowest depth.
   */
  levelToExpand(drawing: IDrawing, selectedItem: string | null): string[] {
    const selected = selectedItem ? drawing.byId.get(selectedItem) : undefined;
    if (selected && selected.item.kind === 'group' && !this.isExpanded(selected.item.group)) {
      return [selected.item.group];
    }
    const collapsed: Array<{ group: string; groupId: string }> = [];
    for (const d of drawing.items) {
      if (d.item.kind === 'group' && !this.isExpanded(d.item.group)) {
        collapsed.push({ group: d.item.group, groupId: d.groupId });
      }
    }
    return shallowestGroups(collapsed, gid => this.depth(gid));
  }

  /**
   * Expands every group from `groupId` up to its root, so its items are drawn; shows that
   * root if it is not the one shown (saving the view `current` of the one left).
   */
  reveal(groupId: string | undefined, current: ITransform): IRevealed {
    const chain = ancestry(groupId, id => this.groups.parentOf(id));
    const top = chain[chain.length - 1];
    let rootChanged = false;
    if (top !== undefined && top !== this.rootId && !this.stack.some(r => r.id === top)) {
      // The node lives in another graph (e.g. a subgraph body): show that graph.
      this.views.set(this.rootId, { ...current });
      this.stack = [this.stack[0]];
      if (top !== this.stack[0].id) {
        this.stack.push({ id: top, label: rootLabel(this.groups.get(top)) ?? top });
      }
      rootChanged = true;
    } else if (top !== undefined && top !== this.rootId) {
      this.stack = this.stack.slice(0, this.stack.findIndex(r => r.id === top) + 1);
      rootChanged = true;
    }
    const expanded = this.setExpanded(
      chain.filter(gid => gid !== this.rootId),
      true
    );
    return { expanded, rootChanged };
  }

  /** Enters a subgraph or function body, saving the view `current` of the root left. */
  enter(groupId: string, label: string | undefined, current: ITransform): void {
    this.views.set(this.rootId, { ...current });
    this.stack.push({ id: groupId, label: rootLabel(this.groups.get(groupId), label) ?? groupId });
  }

  /** Goes back to the root at `depth` in the stack; false (nothing done) unless an earlier one. */
  backTo(depth: number, current: ITransform): boolean {
    if (depth < 0 || depth >= this.stack.length - 1) {
      return false;
    }
    this.views.set(this.rootId, { ...current });
    this.stack = this.stack.slice(0, depth + 1);
    return true;
  }

  /** The view the root shown had when it was last left, if any. */
  savedView(): ITransform | undefined {
    return this.views.get(this.rootId);
  }
}
