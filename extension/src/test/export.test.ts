/**
 * export.ts: the names of saved files and the scale of a PNG (the SVG itself is checked in
 * the browser, where styles are computed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { fileName, fileSize, pngScale } from '../view/export';

describe('fileName', () => {
  it('names the file after the model, keeping only safe characters', () => {
    assert.equal(fileName('resnet50.onnx', 'svg'), 'resnet50.svg');
    assert.equal(fileName('main_graph', 'png'), 'main_graph.png');
    assert.equal(fileName('../etc/<script>x', 'svg'), 'etc_script_x.svg');
    assert.equal(fileName('', 'png'), 'graph.png');
  });
});

describe('pngScale', () => {
  it('renders at the scale asked for, and smaller where the canvas would be too large', () => {
    assert.equal(pngScale(800, 600, 2), 2);
    const scale = pngScale(40000, 300, 2);
    assert.ok(scale < 1);
    assert.ok(fileSize(40000, 300).width * scale <= 16384);
  });
});
