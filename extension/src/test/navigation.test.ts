/**
 * navigation.ts: expanding groups, revealing a group (expanding its ancestors, switching to
 * the graph it lives in), entering bodies and going back, with the view each root had.
 */
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { IDrawing } from '../view/draw';
import { GroupStore } from '../view/groups';
import { Navigation, shallowestGroups } from '../view/navigation';
import { IDetails, IGroup, IViewSource } from '../view/types';
import { group, groupItem, model, node } from './fixtures';

const VIEW = { k: 2, x: 3, y: 4 };
const OTHER_VIEW = { k: 0.5, x: -1, y: -2 };

/** A source that records the groups asked for and never answers. */
class RecordingSource implements IViewSource {
  asked: string[] = [];
  group(id: string): Promise<IGroup> {
    this.asked.push(id);
    return new Promise(() => undefined);
  }
  details(): Promise<IDetails> {
    return new Promise(() => undefined);
  }
}

describe('Navigation', () => {
  let source: RecordingSource;
  let store: GroupStore;
  let nav: Navigation;

  beforeEach(() => {
    source = new RecordingSource();
    store = new GroupStore(source);
    for (const g of model().values()) {
      store.add(g);
    }
    // A subgraph body (its own root) with a scope inside.
    const body = [node('s1', 'Add'), groupItem('inner', 'inner')];
    store.add(group('sub', body, null, 'If_0/then_branch'));
    store.add(group('inner', [node('s2', 'Mul')], 'sub'));
    nav = new Navigation(store, 'main');
  });

  it('starts at the main graph with nothing expanded', () => {
    assert.deepEqual(nav.roots, [{ id: 'main', label: 'main graph' }]);
    assert.equal(nav.rootId, 'main');
    assert.deepEqual(nav.expandedList(), []);
    assert.equal(nav.savedView(), undefined);
  });

  it('expands and collapses, saying whether anything changed, and loads what is missing', () => {
    assert.equal(nav.setExpanded(['head', 'block'], true), true);
    assert.equal(nav.setExpanded(['block'], true), false);
    assert.deepEqual(nav.expandedList(), ['block', 'head']);
    assert.deepEqual(source.asked, ['head'], 'block is loaded; head is fetched');
    assert.equal(nav.setExpanded(['head'], false), true);
    assert.equal(nav.setExpanded(['head'], false), false);
    assert.equal(nav.isExpanded('head'), false);
    assert.equal(nav.isExpanded('block'), true);
  });

  it('reveals a group by expanding it and its ancestors below the root', () => {
    assert.deepEqual(nav.reveal('block', VIEW), { expanded: true, rootChanged: false });
    assert.deepEqual(nav.expandedList(), ['block']);
    assert.deepEqual(nav.reveal('block', VIEW), { expanded: false, rootChanged: false });
    assert.deepEqual(nav.reveal(undefined, VIEW), { expanded: false, rootChanged: false });
  });

  it('switches to the graph a revealed group lives in, keeping the view of the one left', () => {
    assert.deepEqual(nav.reveal('inner', VIEW), { expanded: true, rootChanged: true });
    assert.deepEqual(nav.roots, [
      { id: 'main', label: 'main graph' },
      { id: 'sub', label: 'If_0/then_branch' }
    ]);
    assert.equal(nav.rootId, 'sub');
    assert.deepEqual(nav.expandedList(), ['inner']);
    assert.equal(nav.depth('inner'), 1);
    assert.equal(nav.savedView(), undefined, 'sub has not been shown before');
    assert.equal(nav.backTo(0, OTHER_VIEW), true);
    assert.deepEqual(nav.savedView(), VIEW, 'main comes back as it was left');
  });

  it('goes back to an entered root when revealing a group in it', () => {
    nav.enter('sub', 'then_branch', VIEW);
    assert.equal(nav.rootId, 'sub');
    assert.deepEqual(nav.reveal('block', OTHER_VIEW), { expanded: true, rootChanged: true });
    assert.deepEqual(
      nav.roots.map(r => r.id),
      ['main']
    );
    assert.deepEqual(nav.savedView(), VIEW);
  });

  it('enters bodies by name and goes back only to earlier roots', () => {
    nav.enter('sub', 'then_branch', VIEW);
    nav.enter('unknown', 'a label', OTHER_VIEW);
    nav.enter('nameless', undefined, OTHER_VIEW);
    assert.deepEqual(
      nav.roots.map(r => r.label),
      ['main graph', 'If_0/then_branch', 'a label', 'nameless']
    );
    assert.equal(nav.backTo(3, VIEW), false, 'the root shown');
    assert.equal(nav.backTo(-1, VIEW), false);
    assert.equal(nav.roots.length, 4);
    assert.equal(nav.backTo(1, VIEW), true);
    assert.equal(nav.rootId, 'sub');
    assert.deepEqual(nav.savedView(), OTHER_VIEW, 'sub as it was when "unknown" was entered');
  });

  it('expands one more level: the selected collapsed group, else the shallowest ones', () => {
    nav.setExpanded(['block'], true);
    const items = [
      { item: groupItem('block', 'block'), groupId: 'main' },
      { item: groupItem('head', 'head'), groupId: 'main' },
      { item: groupItem('deep', 'deep'), groupId: 'block' },
      { item: node('conv1', 'Conv'), groupId: 'main' }
    ];
    const drawing = {
      items,
      byId: new Map(items.map(d => [d.item.id, d] as const))
    } as unknown as IDrawing;
    assert.deepEqual(nav.levelToExpand(drawing, null), ['head']);
    assert.deepEqual(nav.levelToExpand(drawing, 'g:deep'), ['deep']);
    assert.deepEqual(nav.levelToExpand(drawing, 'g:block'), ['head'], 'block is open already');
    nav.setExpanded(['head'], true);
    assert.deepEqual(nav.levelToExpand(drawing, null), ['deep']);
  });
});

describe('shallowestGroups', () => {
  it('picks the collapsed groups nearest the root', () => {
    const depths: { [id: string]: number } = { main: 0, block: 1, inner: 2 };
    const depth = (gid: string) => depths[gid] ?? 0;
    const collapsed = [
      { group: 'a', groupId: 'block' },
      { group: 'b', groupId: 'inner' },
      { group: 'c', groupId: 'block' }
    ];
    assert.deepEqual(shallowestGroups(collapsed, depth), ['a', 'c']);
    assert.deepEqual(shallowestGroups([], depth), []);
  });
});
