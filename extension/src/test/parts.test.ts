/**
 * The pure parts of the toolbar, the chips and the decorations: the hit counter's text, the
 * weight lines under an op, and how overlay values map to items, to the colour scale and to
 * the legend.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { legendNumber, overlayKey, overlayPosition } from '../view/decorate';
import { nameLine, nodeLines, weightLine, weightLines } from '../view/shapes';
import { counterState } from '../view/toolbar';
import { INodeItem, IWeight } from '../view/types';
import { groupItem, node } from './fixtures';

const hits = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ itemId: `i${i}`, groupId: 'g' }));

describe('counterState', () => {
  it('is empty without a search', () => {
    assert.deepEqual(counterState(null, -1, null), { text: '', title: '', error: false });
  });

  it('counts hits before the first step, then shows the current one', () => {
    assert.equal(counterState({ hits: hits(1), unsearched: 0 }, -1, null).text, '1 hit');
    assert.equal(counterState({ hits: hits(3), unsearched: 0 }, -1, null).text, '3 hits');
    assert.equal(counterState({ hits: hits(3), unsearched: 0 }, 1, null).text, '2 / 3');
    assert.equal(counterState({ hits: [], unsearched: 0 }, -1, null).text, 'no hits');
  });

  it('says how many groups were not searched, and why in its tooltip', () => {
    const state = counterState({ hits: hits(2), unsearched: 4 }, 0, null);
    assert.equal(state.text, '1 / 2 (+4 not loaded)');
    assert.match(state.title, /^4 group\(s\) are not loaded yet/);
  });

  it('says when the model is being searched, and when it holds more hits than listed', () => {
    assert.equal(
      counterState({ hits: hits(2), unsearched: 4, pending: true }, 0, null).text,
      '1 / 2 (searching the model…)'
    );
    const capped = counterState({ hits: hits(3), unsearched: 0, total: 1200 }, -1, null);
    assert.equal(capped.text, '3 hits (of 1200)');
    assert.match(capped.title, /^1200 matches in the model; the first 3 are listed/);
  });

  it('shows a malformed regex as an error with the reason as tooltip', () => {
    assert.deepEqual(counterState({ hits: [], unsearched: 0 }, -1, 'Unterminated group'), {
      text: 'bad regex',
      title: 'Unterminated group',
      error: true
    });
  });
});

describe('overlay values', () => {
  it('keys nodes and references by model node and groups by group id', () => {
    assert.equal(overlayKey(node('conv1', 'Conv')), 'conv1');
    assert.equal(overlayKey({ kind: 'ref', id: 'r', node: 'relu', label: 'relu' }), 'relu');
    assert.equal(overlayKey(groupItem('block', 'block')), 'block');
    assert.equal(overlayKey({ kind: 'input', id: 'in', label: 'x', dtype: 'f', shape: '' }), null);
  });

  it('places values on the scale from min (0) to max (1)', () => {
    const overlay = { label: 'ms', values: {}, min: 10, max: 30 };
    assert.equal(overlayPosition(10, overlay), 0);
    assert.equal(overlayPosition(20, overlay), 0.5);
    assert.equal(overlayPosition(30, overlay), 1);
    assert.equal(overlayPosition(5, { ...overlay, max: 10 }), -5, 'a zero span counts as 1');
  });

  it('writes legend numbers grouped when large or whole, else to 3 digits', () => {
    assert.equal(legendNumber(1234567.891), '1,234,567.891');
    assert.equal(legendNumber(42), '42');
    assert.equal(legendNumber(0.000123456), '0.000123');
    assert.equal(legendNumber(3.14159), '3.14');
  });
});

describe('weightLine', () => {
  it("names a weight by its role in the op schema, and writes a small one's value", () => {
    assert.equal(weightLine(['onnx::Conv_12', '64×3×7×7', 'W']), 'W ⟨64×3×7×7⟩');
    assert.equal(weightLine(['val_100', '', 'Y', '2']), 'Y = 2');
    assert.equal(weightLine(['eps', '', 'B', '9.99e-06']), 'B = 9.99e-06');
  });

  it('falls back to the short name where the op has no schema, and "scalar" for no dims', () => {
    assert.equal(weightLine(['encoder.layer.0.weight', '768']), 'weight ⟨768⟩');
    assert.equal(weightLine(['bias', '', '']), 'bias ⟨scalar⟩');
  });

  it('lists at most a few lines and counts the rest', () => {
    const weights = Array.from(
      { length: 9 },
      (_, i) => [`w${i}`, '4', `R${i}`] as [string, string, string]
    );
    const lines = weightLines(weights);
    assert.equal(lines[0], 'R0 ⟨4⟩');
    assert.match(lines[lines.length - 1], /^\+\d+ more$/);
    assert.ok(lines.length < weights.length);
  });
});

describe('nodeLines', () => {
  it("puts the node's name first when names are shown, keeping the end of a long one", () => {
    const item = {
      ...(node('/encoder/layer.0/attention/self/query/MatMul', 'MatMul') as INodeItem),
      weights: [['w', '8×8', 'B']] as IWeight[]
    };
    assert.deepEqual(nodeLines(item, false), ['B ⟨8×8⟩']);
    const [name, weight] = nodeLines(item, true);
    assert.equal(weight, 'B ⟨8×8⟩');
    assert.ok(name.startsWith('…') && name.endsWith('self/query/MatMul') && name.length === 30);
    assert.equal(nameLine('/stem/Conv'), '/stem/Conv');
  });
});
