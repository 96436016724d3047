/**
 * The groups a view knows: those of the payload, and those loaded later from its source,
 * indexed by parent and by the model nodes they hold; plus the node details fetched so far.
 * No DOM: the viewer asks it what is loaded and is told when a load settles.
 */
import type { BodyLink } from './details';
import { IDetails, IGroup, INodeItem, ISearchAnswer, ITensorView, IViewSource } from './types';

/** The text shown for a group that the payload lacks and no source could supply. */
export const MISSING_GROUP_TEXT = 'not in this view';

/**
 * The ids from `start` up through its parents, `start` first, stopping at the top (or at a
 * cycle, which a well-formed payload never has).
 */
export function ancestry(
  start: string | undefined,
  parentOf: (id: string) => string | undefined
): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  for (let id = start; id !== undefined && !seen.has(id); id = parentOf(id)) {
    seen.add(id);
    chain.push(id);
  }
  return chain;
}

/** How many levels `start` lies below `rootId` (0 for the root itself or a missing id). */
export function depthBelow(
  start: string | undefined,
  rootId: string,
  parentOf: (id: string) => string | undefined
): number {
  let n = 0;
  let gid = start;
  while (gid && gid !== rootId && n < 1000) {
    n += 1;
    gid = parentOf(gid);
  }
  return n;
}

/**
 * A body's name in the breadcrumb: a function's own name (`domain.name`), a subgraph's
 * path, else what the caller calls it.
 */
export function rootLabel(group: IGroup | undefined, label?: string): string | undefined {
  if (group?.kind === 'function') {
    return group.label;
  }
  return group?.path || label || group?.label;
}

/** The subgraph and function bodies of a node item, named `node/attribute`. */
export function bodyLinks(nodeId: string, item: INodeItem | undefined): BodyLink[] {
  if (!item || !item.graphs) {
    return [];
  }
  const base = nodeId.replace(/^\//, '');
  return item.graphs.map(([name, groupId]) => [`${base}/${name}`, groupId] as BodyLink);
}

/** The loaded groups of a view, the loads under way and the details fetched. */
export class GroupStore {
  private groups = new Map<string, IGroup>();
  private loads = new Map<string, Promise<IGroup | null>>();
  private loadErrors = new Map<string, string>();
  private parents = new Map<string, string>();
  private nodeGroups = new Map<string, string>();
  private detailsCache = new Map<string, Promise<IDetails>>();

  /**
   * @param source where missing groups and details come from (null: nowhere)
   * @param embeddedDetails the details the payload carries
   * @param missingText the note for a group neither in the payload nor in the source
   * @param settled called after each load ends, whether it brought the group or failed
   */
  constructor(
    private source: IViewSource | null,
    private embeddedDetails: { [nodeId: string]: IDetails } = {},
    private missingText = MISSING_GROUP_TEXT,
    private settled: (groupId: string) => void = () => undefined
  ) {}

  /** A loaded group, or undefined. */
  get(id: string): IGroup | undefined {
    return this.groups.get(id);
  }

  /** The group whose items hold a model node, where known. */
  groupOfNode(nodeId: string): string | undefined {
    return this.nodeGroups.get(nodeId);
  }

  /** The parent of a group, where known. */
  parentOf(groupId: string): string | undefined {
    return this.parents.get(groupId);
  }

  /** How many loads are under way. */
  get pending(): number {
    return this.loads.size;
  }

  /** Adds a group and indexes its items. */
  add(group: IGroup): void {
    this.groups.set(group.id, group);
    if (group.parent) {
      this.parents.set(group.id, group.parent);
    }
    for (const item of group.items) {
      if (item.kind === 'node') {
        this.nodeGroups.set(item.node, group.id);
      } else if (item.kind === 'group') {
        this.parents.set(item.group, group.id);
      }
    }
  }

  /** Starts loading a group that is not here (once at a time); `settled` follows. */
  load(groupId: string): void {
    if (this.groups.has(groupId) || this.loads.has(groupId) || !this.source) {
      return;
    }
    this.loadErrors.delete(groupId);
    const loading = this.source.group(groupId).then(
      group => {
        this.add(group);
        return group;
      },
      (error: unknown) => {
        this.loadErrors.set(groupId, error instanceof Error ? error.message : String(error));
        return null;
      }
    );
    this.loads.set(groupId, loading);
    void loading.then(() => {
      this.loads.delete(groupId);
      this.settled(groupId);
    });
  }

  /** Why a group cannot be drawn: still loading, failed to load, or not available. */
  absence(groupId: string): string {
    if (this.loads.has(groupId)) {
      return 'loading…';
    }
    const error = this.loadErrors.get(groupId);
    if (error !== undefined) {
      return `could not load: ${error}`;
    }
    return this.missingText;
  }

  /** A search over the whole model by the source, or null where the source cannot search. */
  search(query: string): Promise<ISearchAnswer> | null {
    return this.source?.search ? this.source.search(query) : null;
  }

  /** The source's tensor viewer (a weight's values), or null where the source has none. */
  get tensors(): ((name: string, index: string, npy: boolean) => Promise<ITensorView>) | null {
    const source = this.source;
    return source?.tensor ? (name, index, npy) => source.tensor!(name, index, npy) : null;
  }

  /** Loads the groups of `chain` that are not here; settles when each arrived or failed. */
  async loadChain(chain: string[]): Promise<void> {
    for (const id of chain) {
      this.load(id);
    }
    await Promise.all(chain.map(id => this.loads.get(id)));
  }

  /** The node item of a model node in the group that holds it. */
  nodeItem(nodeId: string): INodeItem | undefined {
    const gid = this.nodeGroups.get(nodeId);
    const item = gid
      ? this.groups.get(gid)?.items.find(i => i.kind === 'node' && i.node === nodeId)
      : undefined;
    return item?.kind === 'node' ? item : undefined;
  }

  /** The subgraph and function bodies of a node, from its loaded item. */
  bodiesOf(nodeId: string): BodyLink[] {
    return bodyLinks(nodeId, this.nodeItem(nodeId));
  }

  /** A node's details: from the payload, else fetched once from the source (again on failure). */
  details(nodeId: string): Promise<IDetails> {
    const embedded = this.embeddedDetails[nodeId];
    if (embedded) {
      return Promise.resolve(embedded);
    }
    let pending = this.detailsCache.get(nodeId);
    if (!pending) {
      pending = this.source
        ? this.source.details(nodeId)
        : Promise.reject(new Error('the details of this node are not in this view'));
      this.detailsCache.set(nodeId, pending);
      pending.catch(() => this.detailsCache.delete(nodeId));
    }
    return pending;
  }
}
