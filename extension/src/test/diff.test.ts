/**
 * diff.ts: how a model diff's overlay is told from a numeric one, the count badges of groups
 * (their segments, tooltip and tint) and the legend's totals.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  badgeParts,
  badgeTitle,
  diffStatus,
  diffTotals,
  groupStatus,
  isDiffOverlay
} from '../view/diff';
import { IDiffOverlay } from '../view/types';

const overlay: IDiffOverlay = {
  kind: 'diff',
  label: 'a.onnx → b.onnx',
  values: {
    fc1: 'changed',
    relu1: 'same',
    fc2: 'same',
    new_add: 'added',
    old_mul: 'removed',
    old_div: 'removed',
    q: 'qdq'
  },
  counts: { 'g:block': { changed: 3, added: 1, removed: 2 } }
};

describe('the diff overlay', () => {
  it('is told from a numeric overlay by its kind', () => {
    assert.equal(isDiffOverlay(overlay), true);
    assert.equal(isDiffOverlay({ label: 'ms', values: { a: 1 }, min: 0, max: 1 }), false);
    assert.equal(isDiffOverlay(null), false);
    assert.equal(isDiffOverlay(undefined), false);
  });

  it("reads a status this version does not know as 'same'", () => {
    assert.equal(diffStatus('added'), 'added');
    assert.equal(diffStatus('qdq'), 'qdq');
    assert.equal(diffStatus('renamed'), 'same');
    assert.equal(diffStatus(undefined), 'same');
    assert.equal(diffStatus('__proto__'), 'same');
  });
});

describe('group badges', () => {
  it('list the kinds of change inside in a fixed order, with their signs', () => {
    const parts = badgeParts(overlay.counts['g:block']);
    assert.deepEqual(
      parts.map(p => p.text),
      ['+1', '−2', '~3']
    );
    assert.deepEqual(
      parts.map(p => p.status),
      ['added', 'removed', 'changed']
    );
  });

  it('leave out zero counts, and are empty for a group with no change', () => {
    assert.deepEqual(
      badgeParts({ fused: 1, qdq: 0, added: 0 }).map(p => p.text),
      ['⊕1']
    );
    assert.deepEqual(badgeParts(undefined), []);
    assert.deepEqual(badgeParts({}), []);
  });

  it('group large counts by thousands', () => {
    assert.deepEqual(
      badgeParts({ qdq: 1234 }).map(p => p.text),
      ['q1,234']
    );
  });

  it('spell the counts out in their tooltip', () => {
    assert.equal(
      badgeTitle(badgeParts({ added: 1, removed: 2, changed: 3 })),
      'inside: 1 node added, 2 nodes removed, 3 nodes changed'
    );
    assert.equal(badgeTitle(badgeParts({ qdq: 4 })), 'inside: 4 nodes QDQ inserted');
  });

  it('tint a group by its one kind of change, amber (changed) where mixed, same where none', () => {
    assert.equal(groupStatus(badgeParts({ added: 2 })), 'added');
    assert.equal(groupStatus(badgeParts({ removed: 1 })), 'removed');
    assert.equal(groupStatus(badgeParts({ added: 1, removed: 1 })), 'changed');
    assert.equal(groupStatus(badgeParts({})), 'same');
  });
});

describe('the diff legend', () => {
  it('counts the nodes of each status present, changes first and same last', () => {
    assert.deepEqual(diffTotals(overlay), [
      ['added', 1],
      ['removed', 2],
      ['changed', 1],
      ['qdq', 1],
      ['same', 2]
    ]);
  });

  it('is empty for a diff of no nodes', () => {
    assert.deepEqual(diffTotals({ ...overlay, values: {} }), []);
  });
});
