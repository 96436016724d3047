/**
 * groups.ts: the store of loaded groups (indexes, loading from a source, failures, node
 * details) and the pure helpers on group chains.
 */
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  GroupStore,
  MISSING_GROUP_TEXT,
  ancestry,
  bodyLinks,
  depthBelow,
  rootLabel
} from '../view/groups';
import { IDetails, IGroup, INodeItem, IViewSource } from '../view/types';
import { group, model } from './fixtures';

/** Lets promise callbacks run. */
const tick = () => new Promise<void>(resolve => setTimeout(resolve, 0));

function details(id: string): IDetails {
  return {
    id,
    name: id,
    op: 'Relu',
    domain: '',
    scope: '',
    attributes: [],
    inputs: [],
    outputs: [],
    flops: null,
    params: 0,
    doc: null,
    stack: null
  };
}

/** A source whose answers the test settles by hand. */
class ManualSource implements IViewSource {
  groupCalls: string[] = [];
  detailCalls: string[] = [];
  private waiting = new Map<string, [(g: IGroup) => void, (e: unknown) => void]>();
  detailsFail = false;

  group(id: string): Promise<IGroup> {
    this.groupCalls.push(id);
    return new Promise((resolve, reject) => this.waiting.set(id, [resolve, reject]));
  }

  details(nodeId: string): Promise<IDetails> {
    this.detailCalls.push(nodeId);
    return this.detailsFail
      ? Promise.reject(new Error('offline'))
      : Promise.resolve(details(nodeId));
  }

  answer(id: string, result: IGroup | Error | string): void {
    const [resolve, reject] = this.waiting.get(id)!;
    this.waiting.delete(id);
    if (typeof result === 'object' && !(result instanceof Error)) {
      resolve(result);
    } else {
      reject(result);
    }
  }
}

describe('GroupStore', () => {
  let source: ManualSource;
  let settled: string[];
  let store: GroupStore;

  beforeEach(() => {
    source = new ManualSource();
    settled = [];
    store = new GroupStore(source, { embedded: details('embedded') }, 'not in this output', id =>
      settled.push(id)
    );
    for (const g of model().values()) {
      store.add(g);
    }
  });

  it('indexes nodes by group and groups by parent (references are not nodes)', () => {
    assert.equal(store.groupOfNode('conv1'), 'main');
    assert.equal(store.groupOfNode('relu1'), 'block');
    assert.equal(store.groupOfNode('relu_out'), 'main', 'the ref in block does not move it');
    assert.equal(store.parentOf('block'), 'main');
    assert.equal(store.parentOf('head'), 'main', 'known from the group item before it loads');
    assert.equal(store.parentOf('main'), undefined);
    assert.equal(store.groupOfNode('nope'), undefined);
  });

  it('loads a missing group once, says it is loading, and reports when it arrives', async () => {
    store.load('head');
    store.load('head');
    store.load('main'); // already here
    assert.deepEqual(source.groupCalls, ['head']);
    assert.equal(store.pending, 1);
    assert.equal(store.absence('head'), 'loading…');
    source.answer('head', group('head', [], 'main'));
    await tick();
    assert.equal(store.get('head')?.id, 'head');
    assert.equal(store.pending, 0);
    assert.deepEqual(settled, ['head']);
  });

  it('keeps the error of a failed load until the group is asked for again', async () => {
    store.load('head');
    source.answer('head', new Error('kernel gone'));
    await tick();
    assert.equal(store.get('head'), undefined);
    assert.equal(store.absence('head'), 'could not load: kernel gone');
    assert.deepEqual(settled, ['head']);
    store.load('head');
    assert.equal(store.absence('head'), 'loading…');
    source.answer('head', 'plain string');
    await tick();
    assert.equal(store.absence('head'), 'could not load: plain string');
    assert.equal(source.groupCalls.length, 2);
  });

  it('says a group is missing where there is no source to load it from', () => {
    const alone = new GroupStore(null);
    alone.load('head');
    assert.equal(alone.pending, 0);
    assert.equal(alone.absence('head'), MISSING_GROUP_TEXT);
    assert.equal(store.absence('elsewhere'), 'not in this output');
  });

  it('answers details from the payload, else from the source once', async () => {
    assert.equal((await store.details('embedded')).id, 'embedded');
    const first = store.details('conv1');
    assert.equal(store.details('conv1'), first);
    assert.equal((await first).id, 'conv1');
    assert.deepEqual(source.detailCalls, ['conv1']);
  });

  it('asks the source again after details failed', async () => {
    source.detailsFail = true;
    await assert.rejects(store.details('conv1'), /offline/);
    source.detailsFail = false;
    assert.equal((await store.details('conv1')).id, 'conv1');
    assert.deepEqual(source.detailCalls, ['conv1', 'conv1']);
  });

  it('rejects details it cannot get', async () => {
    await assert.rejects(new GroupStore(null).details('x'), /not in this view/);
  });

  it('lists the bodies of a node with subgraphs', () => {
    const ifNode: INodeItem = {
      kind: 'node',
      id: 'i:if',
      node: '/If_0',
      label: 'If_0',
      op: 'If',
      domain: '',
      graphs: [
        ['then_branch', 'body:then'],
        ['else_branch', 'body:else']
      ]
    };
    store.add(group('cond', [ifNode], 'main'));
    assert.deepEqual(store.bodiesOf('/If_0'), [
      ['If_0/then_branch', 'body:then'],
      ['If_0/else_branch', 'body:else']
    ]);
    assert.deepEqual(store.bodiesOf('conv1'), []);
    assert.deepEqual(bodyLinks('x', undefined), []);
  });
});

describe('group chains', () => {
  const parents = new Map([
    ['c', 'b'],
    ['b', 'a'],
    ['x', 'y'],
    ['y', 'x']
  ]);
  const parentOf = (id: string) => parents.get(id);

  it('lists a group and its ancestors, nearest first', () => {
    assert.deepEqual(ancestry('c', parentOf), ['c', 'b', 'a']);
    assert.deepEqual(ancestry(undefined, parentOf), []);
  });

  it('stops at a cycle', () => {
    assert.deepEqual(ancestry('x', parentOf), ['x', 'y']);
  });

  it('measures depth below a root', () => {
    assert.equal(depthBelow('c', 'a', parentOf), 2);
    assert.equal(depthBelow('c', 'b', parentOf), 1);
    assert.equal(depthBelow('a', 'a', parentOf), 0);
    assert.equal(depthBelow(undefined, 'a', parentOf), 0);
    assert.equal(depthBelow('x', 'a', parentOf), 1000, 'a cycle is cut off');
  });

  it('names a root by function name, else subgraph path, else the caller label', () => {
    const fn = { ...group('f', []), kind: 'function' as const, label: 'custom.Fn', path: 'x/y' };
    assert.equal(rootLabel(fn, 'ignored'), 'custom.Fn');
    const body = group('s', [], null, 'If_0/then_branch');
    assert.equal(rootLabel(body, 'ignored'), 'If_0/then_branch');
    assert.equal(rootLabel(group('s', [], null, ''), 'then_branch'), 'then_branch');
    assert.equal(rootLabel(undefined, 'label'), 'label');
    assert.equal(rootLabel(undefined), undefined);
  });
});
