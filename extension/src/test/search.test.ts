/**
 * search.ts: query matching, the hits of a search over the loaded groups in drawing order,
 * and the state of a search stepped through hit by hit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { SearchState, matcher, searchTree } from '../view/search';
import { group, groupItem, model, node } from './fixtures';

describe('matcher', () => {
  it('matches a plain query as a case-insensitive substring', () => {
    const m = matcher('ReL');
    assert.equal(m.error, null);
    assert.ok(m.test('LeakyRelu'));
    assert.ok(m.test('relu_out'));
    assert.ok(!m.test('Conv'));
  });

  it('reads /body/ as a case-insensitive regular expression', () => {
    const m = matcher('/^conv\\d$/');
    assert.ok(m.test('Conv1'));
    assert.ok(!m.test('xconv1'));
  });

  it('takes the flags given, so /body/u is case-sensitive, and ignores g and y', () => {
    assert.ok(!matcher('/conv/u').test('Conv'));
    assert.ok(matcher('/conv/u').test('conv'));
    const global = matcher('/a/g');
    // A global regex keeps lastIndex between calls; the matcher must not.
    assert.ok(global.test('a'));
    assert.ok(global.test('a'));
    assert.ok(global.test('A'), 'g alone still means case-insensitive');
  });

  it('reports a malformed regex and matches nothing', () => {
    const m = matcher('/(/');
    assert.equal(typeof m.error, 'string');
    assert.ok(!m.test('('));
  });

  it('takes a lone slash, or slashes around nothing, as plain text', () => {
    assert.ok(matcher('/').test('encoder/block'));
    assert.ok(matcher('//').test('a//b'));
  });
});

describe('searchTree', () => {
  const groups = model();
  const lookup = (id: string) => groups.get(id);

  it('finds nodes by op, depth first in item order, and counts groups not loaded', () => {
    const result = searchTree('main', lookup, matcher('relu'));
    assert.deepEqual(result.hits, [
      { itemId: 'i:relu1', groupId: 'block' },
      { itemId: 'i:relu_out', groupId: 'main' }
    ]);
    assert.equal(result.unsearched, 1, 'head is not loaded');
  });

  it('never finds references: the node is found where it is drawn in full', () => {
    const hits = searchTree('main', lookup, matcher('relu_out')).hits;
    assert.deepEqual(hits, [{ itemId: 'i:relu_out', groupId: 'main' }]);
  });

  it('finds nodes by label, op, node id and item id', () => {
    assert.equal(searchTree('main', lookup, matcher('conv')).hits.length, 1);
    assert.equal(searchTree('main', lookup, matcher('i:conv1')).hits[0].itemId, 'i:conv1');
  });

  it('finds groups by label or by their scope path, and inputs and outputs by name', () => {
    assert.deepEqual(searchTree('main', lookup, matcher('encoder/')).hits, [
      { itemId: 'g:block', groupId: 'main' }
    ]);
    assert.deepEqual(searchTree('main', lookup, matcher('head')).hits, [
      { itemId: 'g:head', groupId: 'main' }
    ]);
    assert.deepEqual(
      searchTree('main', lookup, matcher('/^[xy]$/')).hits.map(h => h.itemId),
      ['in:x', 'out:y']
    );
  });

  it('searches only under the root given', () => {
    const result = searchTree('block', lookup, matcher('/./'));
    assert.deepEqual(
      result.hits.map(h => h.itemId),
      ['i:relu1']
    );
    assert.equal(result.unsearched, 0);
  });

  it('finds nothing in a root that is not loaded', () => {
    assert.deepEqual(searchTree('head', lookup, matcher('a')), { hits: [], unsearched: 0 });
  });

  it('visits a group once even if the payload loops', () => {
    const loop = new Map([['a', group('a', [node('n', 'Add'), groupItem('a', 'a')])]]);
    const result = searchTree('a', id => loop.get(id), matcher('n'));
    assert.deepEqual(result.hits, [{ itemId: 'i:n', groupId: 'a' }]);
  });
});

describe('SearchState', () => {
  it('starts with no search and no current hit', () => {
    const s = new SearchState();
    assert.equal(s.result, null);
    assert.equal(s.count, 0);
    assert.equal(s.step(1), null);
  });

  it('steps through the hits forwards and backwards, wrapping around', () => {
    const groups = model();
    const s = new SearchState();
    s.run('  relu ', 'main', id => groups.get(id));
    assert.equal(s.count, 2);
    assert.equal(s.index, -1);
    assert.equal(s.step(1)?.itemId, 'i:relu1');
    assert.equal(s.step(1)?.itemId, 'i:relu_out');
    assert.equal(s.step(1)?.itemId, 'i:relu1', 'wraps to the first');
    assert.equal(s.step(-1)?.itemId, 'i:relu_out', 'wraps to the last');
    assert.equal(s.index, 1);
  });

  it('ends the search on an empty query, and keeps a bad regex error', () => {
    const groups = model();
    const s = new SearchState();
    s.run('/(/', 'main', id => groups.get(id));
    assert.equal(s.count, 0);
    assert.equal(typeof s.error, 'string');
    s.run('   ', 'main', id => groups.get(id));
    assert.equal(s.result, null);
    assert.equal(s.error, null);
  });

  it('stays on the current hit when a refresh finds more (a group arrived)', () => {
    const groups = model();
    groups.delete('block');
    const s = new SearchState();
    s.run('relu', 'main', id => groups.get(id));
    assert.equal(s.result?.unsearched, 2);
    assert.equal(s.step(1)?.itemId, 'i:relu_out');
    groups.set('block', model().get('block')!);
    assert.ok(s.refresh('relu', 'main', id => groups.get(id)));
    assert.equal(s.count, 2);
    assert.equal(s.index, 1, 'relu_out is now the second hit');
    assert.equal(s.result?.unsearched, 1);
  });

  it("takes a source's whole-model answer, staying on the current hit, and keeps it on refresh", () => {
    const groups = model();
    groups.delete('block');
    const s = new SearchState();
    s.run('relu', 'main', id => groups.get(id));
    assert.equal(s.step(1)?.itemId, 'i:relu_out');
    s.adopt({
      query: 'relu',
      hits: [
        { item: 'i:relu1', group: 'block', chain: ['main', 'block'] },
        { item: 'i:relu_out', group: 'main', chain: ['main'] }
      ],
      total: 5,
      error: null
    });
    assert.equal(s.count, 2);
    assert.equal(s.index, 1, 'still on relu_out');
    assert.deepEqual(s.result?.hits[0].chain, ['main', 'block']);
    assert.equal(s.result?.unsearched, 0);
    assert.equal(s.result?.total, 5);
    groups.set('block', model().get('block')!);
    assert.equal(
      s.refresh('relu', 'main', id => groups.get(id)),
      false,
      'a group arriving adds nothing'
    );
    assert.equal(s.count, 2);
  });

  it('does not refresh when there is no search', () => {
    const s = new SearchState();
    assert.equal(
      s.refresh('relu', 'main', () => undefined),
      false
    );
    assert.equal(s.result, null);
  });
});
