/**
 * contextmenu.ts: the entries each kind of drawn item gets, the exact-name queries the menu
 * searches with (and that the view's search reads as meant), its keyboard and its placement;
 * preferences.ts: how the settings' raw values are read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { escapeRegex, exactQuery, menuFor, menuPosition, moveIndex } from '../view/contextmenu';
import { matcher } from '../view/search';
import {
  layoutDirection,
  setLayoutDirection,
  setShowEdgeLabels,
  setWheelMode,
  showEdgeLabels,
  viewerSettings,
  wheelMode
} from '../preferences';
import { groupItem, node } from './fixtures';

describe('menuFor', () => {
  it('gives a node its copy, find and select entries, the op type searched exactly', () => {
    const choices = menuFor(node('/enc/MatMul_1', 'MatMul'), false);
    assert.deepEqual(
      choices.map(c => c.label),
      ['Copy name', 'Copy id', 'Find nodes of this op type', 'Find where its outputs go', 'Select']
    );
    assert.deepEqual(choices[0].action, { kind: 'copyName', node: '/enc/MatMul_1' });
    assert.deepEqual(choices[1].action, { kind: 'copy', text: '/enc/MatMul_1' });
    assert.deepEqual(choices[2].action, { kind: 'search', query: '/^MatMul$/' });
    assert.deepEqual(choices[3].action, { kind: 'findOutputs', node: '/enc/MatMul_1' });
    assert.deepEqual(choices[4].action, { kind: 'select' });
  });

  it('gives a reference the op type of its node where known, else no op-type entry', () => {
    const ref = { kind: 'ref' as const, id: 'ref:w@g', node: 'where_0', label: 'Where' };
    assert.deepEqual(menuFor(ref, false, 'Where')[2].action, {
      kind: 'search',
      query: '/^Where$/'
    });
    assert.ok(!menuFor(ref, false).some(c => c.label === 'Find nodes of this op type'));
  });

  it('offers to expand a collapsed group and to collapse an open one', () => {
    const item = groupItem('g:encoder', 'encoder');
    assert.deepEqual(
      menuFor(item, false).map(c => [c.label, c.action]),
      [
        ['Expand', { kind: 'expand', group: 'g:encoder', open: true }],
        ['Copy name', { kind: 'copy', text: 'encoder' }]
      ]
    );
    assert.deepEqual(menuFor(item, true)[0], {
      label: 'Collapse',
      action: { kind: 'expand', group: 'g:encoder', open: false }
    });
  });

  it('lets a graph input or output be copied and selected', () => {
    const input = { kind: 'input' as const, id: 'in:x', label: 'x', dtype: 'float32', shape: '1' };
    assert.deepEqual(
      menuFor(input, false).map(c => c.label),
      ['Copy name', 'Select']
    );
  });
});

describe('exactQuery', () => {
  it('matches each name whole, not names that contain it', () => {
    const one = matcher(exactQuery(['x1']));
    assert.equal(one.error, null);
    assert.ok(one.test('x1'));
    assert.ok(!one.test('x10'));
    assert.ok(!one.test('ax1'));
    const two = matcher(exactQuery(['a', 'b', 'a']));
    assert.equal(exactQuery(['a', 'b', 'a']), '/^(?:a|b)$/');
    assert.ok(two.test('a') && two.test('b') && !two.test('ab'));
  });

  it('escapes what a regular expression would read: dots, slashes, brackets, pipes', () => {
    const names = ['onnx::MatMul_1.out', '/enc/layer.0/Add_output_0', 'a|b', '(x)[0]{1}+?*^$\\'];
    for (const name of names) {
      const m = matcher(exactQuery([name]));
      assert.equal(m.error, null, name);
      assert.ok(m.test(name), name);
    }
    assert.ok(!matcher(exactQuery(['a.c'])).test('abc'));
    assert.ok(!matcher(exactQuery(['a|b'])).test('a'));
    assert.equal(escapeRegex('a/b.c'), 'a\\/b\\.c');
  });

  it('is empty for no names (and skips empty names)', () => {
    assert.equal(exactQuery([]), '');
    assert.equal(exactQuery(['']), '');
    assert.equal(exactQuery(['', 'y']), '/^y$/');
  });
});

describe('moveIndex', () => {
  it('steps with the arrows, wrapping, and jumps with Home and End', () => {
    assert.equal(moveIndex(-1, 4, 'ArrowDown'), 0);
    assert.equal(moveIndex(0, 4, 'ArrowDown'), 1);
    assert.equal(moveIndex(3, 4, 'ArrowDown'), 0);
    assert.equal(moveIndex(0, 4, 'ArrowUp'), 3);
    assert.equal(moveIndex(-1, 4, 'ArrowUp'), 3);
    assert.equal(moveIndex(2, 4, 'Home'), 0);
    assert.equal(moveIndex(0, 4, 'End'), 3);
  });

  it('leaves other keys, and an empty menu, alone', () => {
    assert.equal(moveIndex(0, 4, 'Enter'), null);
    assert.equal(moveIndex(0, 4, 'a'), null);
    assert.equal(moveIndex(-1, 0, 'ArrowDown'), null);
  });
});

describe('menuPosition', () => {
  it('opens at the pointer where the menu fits', () => {
    assert.deepEqual(menuPosition(100, 50, 180, 120, 800, 600), { x: 100, y: 50 });
  });

  it('moves back inside the host where it would overflow, never past its top left', () => {
    assert.deepEqual(menuPosition(750, 550, 180, 120, 800, 600), { x: 618, y: 478 });
    assert.deepEqual(menuPosition(10, 10, 180, 120, 100, 80), { x: 0, y: 0 });
  });
});

describe('preferences', () => {
  it('reads the direction setting: LR, anything else top to bottom', () => {
    setLayoutDirection('LR');
    assert.equal(layoutDirection(), 'LR');
    setLayoutDirection('sideways');
    assert.equal(layoutDirection(), 'TB');
    setLayoutDirection(undefined);
    assert.equal(layoutDirection(), 'TB');
  });

  it('draws edge labels unless the setting is false', () => {
    setShowEdgeLabels(false);
    assert.equal(showEdgeLabels(), false);
    setShowEdgeLabels(undefined);
    assert.equal(showEdgeLabels(), true);
    setShowEdgeLabels('no');
    assert.equal(showEdgeLabels(), true);
  });

  it('hands every host functions that read the settings as they are now', () => {
    const options = viewerSettings();
    setWheelMode('zoom');
    setLayoutDirection('LR');
    setShowEdgeLabels(false);
    assert.equal(options.wheel(), 'zoom');
    assert.equal(options.direction(), 'LR');
    assert.equal(options.edgeLabels(), false);
    setWheelMode('pan');
    setLayoutDirection('TB');
    setShowEdgeLabels(true);
    assert.equal(wheelMode(), 'pan');
  });
});
