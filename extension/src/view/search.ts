/**
 * Search over the loaded groups of a graph: a plain, case-insensitive substring or a
 * `/regular expression/flags`. Groups that are not loaded cannot be searched; the result
 * says how many such groups were passed over.
 */
import { IGroup, Item } from './types';

/** A search hit: an item and the group whose level holds it. */
export interface IHit {
  itemId: string;
  groupId: string;
}

/** The hits in display order, and how many unloaded groups were not searched. */
export interface ISearchResult {
  hits: IHit[];
  unsearched: number;
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
