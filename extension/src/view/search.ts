/**
 * Search over the loaded groups of a graph: a plain, case-insensitive substring or a
 * `/regular expression/flags`. Groups that are not loaded cannot be searched here; the result
 * says how many such groups were passed over, and a source that searches the whole model
 * (`IViewSource.search`) replaces it with hits that carry the chain of groups to open.
 */
import { IGroup, ISearchAnswer, Item } from './types';

/** A search hit: an item and the group whose level holds it. */
export interface IHit {
  itemId: string;
  groupId: string;
  /** The groups from the graph's root down to `groupId`, for a hit in groups not loaded yet. */
  chain?: string[];
}

/** The hits in display order, and how many unloaded groups were not searched. */
export interface ISearchResult {
  hits: IHit[];
  unsearched: number;
  /** Every match in the whole model, where a source counted more than `hits` holds. */
  total?: number;
  /** True while the source searches the whole model. */
  pending?: boolean;
}

/** A predicate on strings built from a query; `error` is set for a malformed regex. */
export interface IMatcher {
  test: (text: string) => boolean;
  error: string | null;
}

/** Builds the matcher for a query: `/body/flags` is a regex (case-insensitive by default). */
export function matcher(query: string): IMatcher {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(query);
  if (regex) {
    try {
      const flags = regex[2].replace(/[gy]/g, '') || 'i';
      const re = new RegExp(regex[1], flags);
      return { test: text => re.test(text), error: null };
    } catch (error) {
      return { test: () => false, error: (error as Error).message };
    }
  }
  const needle = query.toLowerCase();
  return { test: text => text.toLowerCase().includes(needle), error: null };
}

/** The strings a query is matched against for one item. */
function fields(item: Item, group: (id: string) => IGroup | undefined): string[] {
  switch (item.kind) {
    case 'node':
      return [item.label, item.op, item.node, item.id];
    case 'group':
      return [item.label, group(item.group)?.path ?? item.group];
    case 'input':
    case 'output':
      return [item.label];
    case 'ref':
      return []; // the node itself is found where it is drawn in full
  }
}

/**
 * Searches the loaded groups under `rootId`, depth first in item order (the order of
 * the drawing, top to bottom).
 */
export function searchTree(
  rootId: string,
  group: (id: string) => IGroup | undefined,
  match: IMatcher
): ISearchResult {
  const result: ISearchResult = { hits: [], unsearched: 0 };
  const seen = new Set<string>();
  const visit = (id: string) => {
    const g = group(id);
    if (!g || seen.has(id)) {
      return;
    }
    seen.add(id);
    for (const item of g.items) {
      if (fields(item, group).some(text => match.test(text))) {
        result.hits.push({ itemId: item.id, groupId: id });
      }
      if (item.kind === 'group') {
        if (group(item.group)) {
          visit(item.group);
        } else {
          result.unsearched += 1;
        }
      }
    }
  };
  visit(rootId);
  return result;
}

/**
 * A search in progress over one graph: its hits, the current one (-1: none yet) and the
 * error of a malformed regex. No DOM: the viewer shows it.
 */
export class SearchState {
  /** The hits, or null when there is no search. */
  result: ISearchResult | null = null;
  /** The index of the current hit, -1 before the first step. */
  index = -1;
  /** Why the query is not a valid regex, else null. */
  error: string | null = null;

  /** The number of hits. */
  get count(): number {
    return this.result?.hits.length ?? 0;
  }

  /** Searches for `query` (trimmed; empty ends the search) under `rootId`, with no current hit. */
  run(query: string, rootId: string, group: (id: string) => IGroup | undefined): void {
    const q = query.trim();
    this.index = -1;
    if (!q) {
      this.result = null;
      this.error = null;
      return;
    }
    const match = matcher(q);
    this.result = searchTree(rootId, group, match);
    this.error = match.error;
  }

  /**
   * Searches again (after groups arrived or the root changed), staying on the current hit
   * where it is still found. False, and nothing done, when there is no search.
   */
  refresh(query: string, rootId: string, group: (id: string) => IGroup | undefined): boolean {
    const q = query.trim();
    if (!this.result || !q || this.result.total !== undefined) {
      return false; // no search, or the source's answer over the whole model: nothing to add
    }
    const current = this.result.hits[this.index]?.itemId;
    const match = matcher(q);
    this.result = searchTree(rootId, group, match);
    this.index = this.result.hits.findIndex(hit => hit.itemId === current);
    this.error = match.error;
    return true;
  }

  /**
   * Takes a source's answer over the whole model in place of the loaded groups' hits,
   * staying on the current hit where it is among them.
   */
  adopt(answer: ISearchAnswer): void {
    const current = this.result?.hits[this.index]?.itemId;
    const hits = answer.hits.map(h => ({ itemId: h.item, groupId: h.group, chain: h.chain }));
    this.result = { hits, unsearched: 0, total: answer.total };
    this.index = hits.findIndex(hit => hit.itemId === current);
    this.error = answer.error;
  }

  /** Moves to the next (1) or previous (-1) hit, wrapping around; null when there are none. */
  step(step: number): IHit | null {
    const hits = this.result?.hits;
    if (!hits || !hits.length) {
      return null;
    }
    const n = hits.length;
    this.index = (((this.index + step) % n) + n) % n;
    return hits[this.index];
  }
}
