/**
 * palette.ts: op categories (which tint a node's header) and the overlay colour scale.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { opCategory, scaleColor, scaleGradient, scaleTextDark } from '../view/palette';

describe('opCategory', () => {
  it('puts the standard ops in their category', () => {
    const expected: Array<[string, string]> = [
      ['Conv', 'compute'],
      ['MatMul', 'compute'],
      ['MaxPool', 'compute'],
      ['LayerNormalization', 'normalization'],
      ['Dropout', 'normalization'],
      ['Relu', 'activation'],
      ['Softmax', 'activation'],
      ['Add', 'elementwise'],
      ['ReduceMean', 'elementwise'],
      ['DequantizeLinear', 'elementwise'],
      ['Reshape', 'shape'],
      ['Gather', 'shape'],
      ['Constant', 'shape'],
      ['If', 'control'],
      ['Loop', 'control']
    ];
    for (const [op, category] of expected) {
      assert.equal(opCategory(op), category, op);
    }
  });

  it('guesses the category of unknown (e.g. contrib) ops from their name', () => {
    assert.equal(opCategory('NhwcConv'), 'compute');
    assert.equal(opCategory('GroupQueryAttention'), 'compute');
    assert.equal(opCategory('EmbedLayerNorm'), 'normalization');
    assert.equal(opCategory('BiasSplitGelu'), 'activation');
    assert.equal(opCategory('MyElu'), 'activation');
    assert.equal(opCategory('ReduceAnything'), 'elementwise');
    assert.equal(opCategory('SequenceAt'), 'shape');
  });

  it('calls ops it cannot place other, and is case-sensitive about names', () => {
    assert.equal(opCategory('Frobnicate'), 'other');
    assert.equal(opCategory(''), 'other');
    assert.equal(opCategory('relu'), 'other');
    assert.equal(opCategory('EluSomething'), 'other', 'Elu only as a suffix');
  });

  it('gives an op the same category every time', () => {
    for (const op of ['Conv', 'NhwcConv', 'Frobnicate', 'Relu']) {
      assert.equal(opCategory(op), opCategory(op));
    }
  });
});

describe('scaleColor', () => {
  it('runs from viridis purple at 0 to yellow at 1', () => {
    assert.equal(scaleColor(0), 'rgb(68, 1, 84)');
    assert.equal(scaleColor(0.5), 'rgb(33, 144, 141)');
    assert.equal(scaleColor(1), 'rgb(253, 231, 37)');
  });

  it('interpolates between the samples', () => {
    // 1/16 lies halfway between the first two samples.
    assert.equal(scaleColor(1 / 16), 'rgb(70, 23, 103)');
  });

  it('clamps values outside [0, 1] and treats non-numbers as 0', () => {
    assert.equal(scaleColor(-3), scaleColor(0));
    assert.equal(scaleColor(7), scaleColor(1));
    assert.equal(scaleColor(NaN), scaleColor(0));
    assert.equal(scaleColor(Infinity), scaleColor(0));
  });

  it('uses dark text only on the bright end', () => {
    assert.equal(scaleTextDark(0), false);
    assert.equal(scaleTextDark(0.55), false);
    assert.equal(scaleTextDark(0.56), true);
    assert.equal(scaleTextDark(1), true);
  });

  it('draws the legend gradient through all nine samples', () => {
    const gradient = scaleGradient();
    assert.match(gradient, /^linear-gradient\(to right, rgb\(68, 1, 84\) 0%, /);
    assert.match(gradient, /, rgb\(33, 144, 141\) 50%, /);
    assert.match(gradient, /, rgb\(253, 231, 37\) 100%\)$/);
    assert.equal(gradient.match(/rgb\(/g)?.length, 9);
  });
});
