/**
 * Hierarchical layout: a group's level is laid out by dot after its expanded child groups,
 * which enter the level as fixed-size boxes (their frames). Levels are cached by group id
 * and the signature of what is expanded inside them, so re-expanding costs nothing.
 */
import type { Graphviz } from '@hpcc-js/wasm-graphviz';

import { IBox, IEdgePath, IEdgeSpec, LayoutDirection, layoutLevel } from './dot';
import { FRAME_HEADER, FRAME_PAD, frameMinWidth, itemSize } from './shapes';
import { IGroup } from './types';

/** A laid-out level: the group's items as boxes, edges, and the interiors of expanded items. */
export interface ILevel {
  key: string;
  group: IGroup;
  width: number;
  height: number;
  boxes: IBox[];
  edges: IEdgePath[];
  /** Interiors of the expanded group items, by item index. */
  children: Map<number, ILevel>;
}

/** What the layout needs to know about the view's state. */
export interface ILayoutState {
  /** A loaded group, or undefined. */
  group(id: string): IGroup | undefined;
  isExpanded(id: string): boolean;
  /** The note shown in an expanded group whose contents cannot be drawn (yet). */
  note(id: string): string | null;
}

/** The offset of an expanded item's interior from its frame's top-left corner. */
export function interiorOffset(frame: IBox, interior: ILevel): { x: number; y: number } {
  return { x: (frame.w - interior.width) / 2, y: FRAME_HEADER + FRAME_PAD };
}

const CACHE_LIMIT = 2000;

/** Lays out groups level by level and keeps the results. */
export class LayoutTree {
  private cache = new Map<string, ILevel>();
  /** Milliseconds dot took in the last `layout` call (0 when everything came from the cache). */
  dotMs = 0;
  /** Which way levels are laid out from the next `layout` call on (both are cached). */
  direction: LayoutDirection = 'TB';
  /** Whether node boxes hold their names (taller and wider boxes: cached apart). */
  names = false;

  constructor(private state: ILayoutState) {}

  /** Drops every cached level (after the measurements changed, e.g. the font). */
  clear(): void {
    this.cache.clear();
  }

  /** The layout of a group and everything expanded inside it; null if it is not loaded. */
  layout(gv: Graphviz, groupId: string): ILevel | null {
    this.dotMs = 0;
    return this.layoutGroup(gv, groupId, new Set());
  }

  private layoutGroup(gv: Graphviz, groupId: string, visiting: Set<string>): ILevel | null {
    const group = this.state.group(groupId);
    if (!group || visiting.has(groupId)) {
      return null;
    }
    visiting.add(groupId);
    const children = new Map<number, ILevel>();
    const parts: string[] = [];
    group.items.forEach((item, i) => {
      if (item.kind === 'group' && this.state.isExpanded(item.group)) {
        const child = this.layoutGroup(gv, item.group, visiting);
        if (child) {
          children.set(i, child);
          parts.push(`${i}(${child.key})`);
        } else {
          parts.push(`${i}!${this.state.note(item.group) ?? ''}`);
        }
      }
    });
    visiting.delete(groupId);
    const key = `${this.direction}${this.names ? 'N' : ''}:${groupId}{${parts.join(',')}}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key); // keep recently used entries at the end
      this.cache.set(key, cached);
      return cached;
    }
    const sizes = group.items.map((item, i) => {
      const child = children.get(i);
      if (child && item.kind === 'group') {
        return {
          w: Math.max(child.width + 2 * FRAME_PAD, frameMinWidth(item.label, item.nodes)),
          h: child.height + FRAME_HEADER + 2 * FRAME_PAD
        };
      }
      const note = item.kind === 'group' && this.state.isExpanded(item.group);
      return itemSize(item, note ? this.state.note(item.group) : null, this.names);
    });
    const n = group.items.length;
    const kept: number[] = [];
    const edges: IEdgeSpec[] = [];
    group.edges.forEach(([from, to, label], i) => {
      if (from !== to && from >= 0 && to >= 0 && from < n && to < n) {
        kept.push(i);
        edges.push({ from, to, label });
      }
    });
    const start = performance.now();
    const geometry = layoutLevel(gv, sizes, edges, this.direction);
    const level: ILevel = {
      key,
      group,
      ...geometry,
      edges: geometry.edges.map(path => ({ ...path, index: kept[path.index] })),
      children
    };
    this.dotMs += performance.now() - start;
    this.cache.set(key, level);
    if (this.cache.size > CACHE_LIMIT) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    return level;
  }
}
