/**
 * dot.ts: the DOT source written for a level, and dot's `plain` output read back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Graphviz } from '@hpcc-js/wasm-graphviz';

import {
  IEdgeSpec,
  LayoutDirection,
  layoutLevel,
  levelDot,
  parsePlain,
  plainTokens
} from '../view/dot';

const SIZES = [
  { w: 72, h: 36 },
  { w: 144, h: 18 }
];

describe('levelDot', () => {
  it('writes one fixed-size box per size, in inches, and the edges by index', () => {
    const dot = levelDot(SIZES, [{ from: 0, to: 1, label: 'x' }], true);
    assert.deepEqual(dot.split('\n'), [
      'digraph L {',
      'graph [rankdir=TB, nodesep=0.22, ranksep=0.18, margin=0];',
      'node [shape=box, fixedsize=true, label=""];',
      'edge [arrowsize=0.7, fontsize=11, fontname="Helvetica"];',
      'n0 [width=1.0000, height=0.5000];',
      'n1 [width=2.0000, height=0.2500];',
      'n0 -> n1 [label="x"];',
      '}'
    ]);
  });

  it('sets the rank direction', () => {
    assert.match(levelDot(SIZES, [], true, 'LR'), /^graph \[rankdir=LR, /m);
  });

  it('leaves out edge labels (and spaces ranks more) when asked to', () => {
    const dot = levelDot(SIZES, [{ from: 1, to: 0, label: 'x' }], false);
    assert.match(dot, /ranksep=0\.32/);
    assert.match(dot, /^n1 -> n0;$/m);
    assert.doesNotMatch(dot, /label="x"/);
  });

  it('writes no label for an edge without one', () => {
    const dot = levelDot(SIZES, [{ from: 0, to: 1, label: '' }], true);
    assert.match(dot, /^n0 -> n1;$/m);
  });

  it('escapes quotes, backslashes and newlines so a label cannot change the graph', () => {
    const evil = 'a" ]; n9 [label="pwn\\\n}';
    const dot = levelDot(SIZES, [{ from: 0, to: 1, label: evil }], true);
    const line = dot.split('\n').find(l => l.startsWith('n0 -> n1'));
    assert.equal(line, 'n0 -> n1 [label="a\\" ]; n9 [label=\\"pwn\\\\ }"];');
    assert.equal(dot.split('\n').length, 8, 'the label added no line');
  });

  it('cuts labels longer than 40 characters with an ellipsis', () => {
    const dot = levelDot(SIZES, [{ from: 0, to: 1, label: 'y'.repeat(50) }], true);
    assert.match(dot, new RegExp(`label="${'y'.repeat(39)}…"`));
  });
});

describe('plainTokens', () => {
  it('splits on spaces and unquotes double-quoted strings with escapes', () => {
    assert.deepEqual(plainTokens('edge n0 n1 "a \\"b\\" c" solid black'), [
      'edge',
      'n0',
      'n1',
      'a "b" c',
      'solid',
      'black'
    ]);
  });

  it('reads an empty line as no tokens', () => {
    assert.deepEqual(plainTokens(''), []);
  });
});

/** A `plain` output for SIZES: n0 above n1, one edge with a label. Units: inches, y up. */
const PLAIN = [
  'graph 1 3 2',
  'node n0 1.5 1.75 1 0.5 "" solid box black lightgrey',
  'node n1 1.5 0.25 2 0.25 "" solid box black lightgrey',
  'edge n0 n1 4 1.5 1.5 1.5 1.25 1.5 0.75 1.5 0.5 x 2 1 solid black',
  'stop'
].join('\n');

describe('parsePlain', () => {
  const edges: IEdgeSpec[] = [{ from: 0, to: 1, label: 'x' }];

  it('places boxes by their top-left corner in pixels, y growing downwards', () => {
    const g = parsePlain(PLAIN, SIZES, edges);
    assert.equal(g.width, 216);
    assert.equal(g.height, 144);
    assert.deepEqual(g.boxes, [
      { x: 72, y: 0, w: 72, h: 36 },
      { x: 36, y: 117, w: 144, h: 18 }
    ]);
  });

  it('turns the spline points into an SVG path, an arrow head and the label centre', () => {
    const [edge] = parsePlain(PLAIN, SIZES, edges).edges;
    assert.equal(edge.index, 0);
    assert.equal(edge.spline, 'M108.0,36.0C108.0,54.0 108.0,90.0 108.0,108.0');
    // The head points down from the spline's end (108, 108), 7 px long, 7 px wide.
    assert.equal(edge.arrow, 'M108.0,115.0L104.5,108.0L111.5,108.0Z');
    assert.deepEqual(edge.label, { x: 144, y: 72 });
  });

  it('gives no label position to an edge dot placed none for', () => {
    const plain = PLAIN.replace(' x 2 1 solid', ' solid');
    assert.equal(parsePlain(plain, SIZES, edges).edges[0].label, null);
  });

  it('ignores edges it did not ask for', () => {
    assert.deepEqual(parsePlain(PLAIN, SIZES, []).edges, []);
  });
});

describe('layoutLevel', () => {
  /** A Graphviz stand-in that records what it is given and answers PLAIN. */
  function fakeGraphviz(): { gv: Graphviz; calls: string[][] } {
    const calls: string[][] = [];
    const gv = {
      layout: (dot: string, format: string, engine: string) => {
        calls.push([dot, format, engine]);
        return PLAIN;
      }
    } as unknown as Graphviz;
    return { gv, calls };
  }

  it('asks dot for plain output of the level DOT and parses it', () => {
    const { gv, calls } = fakeGraphviz();
    const edges = [{ from: 0, to: 1, label: 'x' }];
    const g = layoutLevel(gv, SIZES, edges);
    assert.deepEqual(calls, [[levelDot(SIZES, edges, true), 'plain', 'dot']]);
    assert.equal(g.boxes[1].y, 117);
  });

  it('does not call dot for an empty level', () => {
    const { gv, calls } = fakeGraphviz();
    assert.deepEqual(layoutLevel(gv, [], []), { width: 0, height: 0, boxes: [], edges: [] });
    assert.equal(calls.length, 0);
  });

  it('drops edge labels on levels of more than 1200 boxes and edges', () => {
    const { gv, calls } = fakeGraphviz();
    const sizes = Array.from({ length: 1200 }, () => ({ w: 10, h: 10 }));
    layoutLevel(gv, sizes, [{ from: 0, to: 1, label: 'x' }]);
    assert.doesNotMatch(calls[0][0], /label="x"/);
  });
});

describe('layoutLevel with the real dot (WebAssembly)', () => {
  const sizes = [
    { w: 80, h: 30 },
    { w: 120, h: 40 },
    { w: 60, h: 20 }
  ];
  /** A chain of three boxes of `sizes` laid out by the real dot. */
  async function chain(direction: LayoutDirection = 'TB') {
    const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
    const gv = await Graphviz.load();
    const edges = [
      { from: 0, to: 1, label: 'a' },
      { from: 1, to: 2, label: 'b' }
    ];
    return layoutLevel(gv, sizes, edges, direction);
  }

  it('ranks a chain top to bottom without overlaps', async () => {
    const g = await chain();
    assert.equal(g.boxes.length, 3);
    g.boxes.forEach((box, i) => {
      assert.equal(box.w, sizes[i].w);
      assert.equal(box.h, sizes[i].h);
      assert.ok(box.x >= -0.5 && box.x + box.w <= g.width + 0.5, `box ${i} inside the width`);
    });
    assert.ok(g.boxes[0].y + g.boxes[0].h <= g.boxes[1].y, 'first rank above the second');
    assert.ok(g.boxes[1].y + g.boxes[1].h <= g.boxes[2].y, 'second rank above the third');
    assert.deepEqual(g.edges.map(e => e.index).sort(), [0, 1]);
    for (const edge of g.edges) {
      assert.match(edge.spline, /^M-?[\d.]+,-?[\d.]+(C[-\d., ]+)+$/);
      assert.ok(edge.label, 'a small level keeps its edge labels');
    }
  });

  it('ranks the same chain left to right when asked to', async () => {
    const g = await chain('LR');
    assert.ok(g.boxes[0].x + g.boxes[0].w <= g.boxes[1].x, 'first rank left of the second');
    assert.ok(g.boxes[1].x + g.boxes[1].w <= g.boxes[2].x, 'second rank left of the third');
    assert.ok(g.width > g.height);
  });
});
