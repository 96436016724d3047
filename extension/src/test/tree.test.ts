/**
 * tree.ts: the level-by-level layout of nested groups (expanded groups become frames sized
 * to their interior), its cache, and the notes of groups that cannot be drawn yet.
 * Graphviz is replaced by a stand-in that stacks the boxes it is given.
 */
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Graphviz } from '@hpcc-js/wasm-graphviz';

import { FRAME_HEADER, FRAME_PAD, frameMinWidth } from '../view/shapes';
import { ILayoutState, ILevel, LayoutTree, interiorOffset } from '../view/tree';
import { IGroup } from '../view/types';
import { group, groupItem, model, node } from './fixtures';

// No canvas in Node: text is measured at 7 px a character (the viewer's own fallback).
const scope = globalThis as { document?: unknown };
scope.document ??= { createElement: () => ({ getContext: () => null }) };

/** A stand-in for dot: stacks the boxes of the DOT source top to bottom, centred. */
function stackingGraphviz(calls: string[]): Graphviz {
  const layout = (dot: string): string => {
    calls.push(dot);
    const boxes: Array<{ w: number; h: number }> = [];
    const edges: string[][] = [];
    for (const line of dot.split('\n')) {
      const box = /^n\d+ \[width=([\d.]+), height=([\d.]+)\];$/.exec(line);
      const edge = /^n(\d+) -> n(\d+)/.exec(line);
      if (box) {
        boxes.push({ w: Number(box[1]), h: Number(box[2]) });
      } else if (edge) {
        edges.push([edge[1], edge[2]]);
      }
    }
    const width = Math.max(0, ...boxes.map(b => b.w));
    const height = boxes.reduce((sum, b) => sum + b.h, 0);
    const lines = [`graph 1 ${width} ${height}`];
    let top = 0;
    boxes.forEach((b, i) => {
      const y = height - top - b.h / 2;
      lines.push(`node n${i} ${width / 2} ${y} ${b.w} ${b.h} "" solid box black lightgrey`);
      top += b.h;
    });
    for (const [from, to] of edges) {
      lines.push(`edge n${from} n${to} 4 0 1 0 0.75 0 0.5 0 0.25 solid black`);
    }
    lines.push('stop');
    return lines.join('\n');
  };
  return { layout } as unknown as Graphviz;
}

describe('LayoutTree', () => {
  let groups: Map<string, IGroup>;
  let expanded: Set<string>;
  let notes: Map<string, string>;
  let calls: string[];
  let gv: Graphviz;
  let tree: LayoutTree;

  beforeEach(() => {
    groups = model();
    expanded = new Set();
    notes = new Map();
    calls = [];
    gv = stackingGraphviz(calls);
    const state: ILayoutState = {
      group: id => groups.get(id),
      isExpanded: id => expanded.has(id),
      note: id => notes.get(id) ?? null
    };
    tree = new LayoutTree(state);
  });

  it('has no layout for a group that is not loaded', () => {
    assert.equal(tree.layout(gv, 'head'), null);
    assert.equal(calls.length, 0);
  });

  it('lays out a level with one box per item, sized to its text', () => {
    const level = tree.layout(gv, 'main') as ILevel;
    assert.equal(calls.length, 1);
    assert.equal(level.group.id, 'main');
    assert.equal(level.children.size, 0);
    assert.deepEqual(
      level.boxes.map(b => [b.w, b.h]),
      [
        [119, 34], // input x: "float32 ⟨1×3⟩" is the widest line
        [56, 22], // node conv1: the minimum node width
        [90, 40], // collapsed group: the minimum group width
        [76, 22], // node relu_out: 8 characters
        [90, 40],
        [126, 34] // output y: "float32 ⟨1×10⟩"
      ]
    );
    // The stand-in stacks the boxes: each starts where the one above ends.
    for (let i = 1; i < level.boxes.length; i++) {
      const above = level.boxes[i - 1];
      assert.ok(Math.abs(level.boxes[i].y - (above.y + above.h)) < 0.1);
    }
    assert.deepEqual(
      level.edges.map(e => e.index),
      [0, 1, 2, 3, 4]
    );
  });

  it('drops self-loops and edges to missing items, keeping the others by their index', () => {
    const g = groups.get('block') as IGroup;
    g.items.push(node('add', 'Add'));
    g.edges = [
      [0, 1, ''],
      [1, 1, 'self'],
      [1, 7, 'dangling'],
      [-1, 2, 'negative'],
      [1, 2, 'kept']
    ];
    const level = tree.layout(gv, 'block') as ILevel;
    assert.deepEqual(
      calls[0].split('\n').filter(l => l.includes('->')),
      ['n0 -> n1;', 'n1 -> n2 [label="kept"];']
    );
    assert.deepEqual(
      level.edges.map(e => e.index),
      [0, 4]
    );
  });

  it('lays out an expanded group first and frames its interior in the level above', () => {
    expanded.add('block');
    const level = tree.layout(gv, 'main') as ILevel;
    assert.equal(calls.length, 2);
    assert.match(calls[0], /^n1 \[/m, 'the interior (2 items) is laid out first');
    assert.doesNotMatch(calls[0], /^n2 \[/m);
    const interior = level.children.get(2) as ILevel;
    assert.equal(interior.group.id, 'block');
    const frame = level.boxes[2];
    assert.equal(frame.h, interior.height + FRAME_HEADER + 2 * FRAME_PAD);
    assert.equal(frame.w, Math.max(interior.width + 2 * FRAME_PAD, frameMinWidth('block', 2)));
    assert.deepEqual(interiorOffset(frame, interior), {
      x: (frame.w - interior.width) / 2,
      y: FRAME_HEADER + FRAME_PAD
    });
  });

  it('reuses cached levels: expanding again, or collapsing back, runs no dot', () => {
    const collapsed = tree.layout(gv, 'main');
    expanded.add('block');
    const open = tree.layout(gv, 'main');
    assert.equal(calls.length, 3);
    expanded.delete('block');
    assert.equal(tree.layout(gv, 'main'), collapsed);
    expanded.add('block');
    assert.equal(tree.layout(gv, 'main'), open);
    assert.equal(calls.length, 3);
    assert.equal(tree.dotMs, 0);
    tree.clear();
    tree.layout(gv, 'main');
    assert.equal(calls.length, 5, 'after clear() both levels are laid out again');
  });

  it('gives an expanded group not loaded a note line, and re-lays out when it changes', () => {
    expanded.add('head');
    notes.set('head', 'loading…');
    const loading = tree.layout(gv, 'main') as ILevel;
    assert.equal(loading.children.size, 0);
    assert.deepEqual([loading.boxes[4].w, loading.boxes[4].h], [90, 53]);
    notes.set('head', 'could not load: boom');
    const failed = tree.layout(gv, 'main') as ILevel;
    assert.equal(calls.length, 2);
    assert.deepEqual([failed.boxes[4].w, failed.boxes[4].h], [164, 53]);
  });

  it('stops at a group that contains itself', () => {
    groups.set('loop', group('loop', [node('n', 'Add'), groupItem('loop', 'loop')]));
    expanded.add('loop');
    const level = tree.layout(gv, 'loop') as ILevel;
    assert.equal(level.children.size, 0);
    assert.equal(level.boxes.length, 2);
  });
});
