/**
 * panzoom.ts: the arithmetic of the view transform (screen = drawing × k + (x, y)).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ITransform,
  MAX_ZOOM,
  MIN_ZOOM,
  boxOnScreen,
  centredOn,
  clampZoom,
  fitTransform,
  initialTransform,
  readableZoom,
  transformAttribute,
  wheelFactor,
  zoomAbout
} from '../view/panzoom';

const SCREEN = { width: 800, height: 600 };

function near(actual: ITransform, expected: ITransform): void {
  for (const key of ['k', 'x', 'y'] as const) {
    assert.ok(
      Math.abs(actual[key] - expected[key]) < 1e-9,
      `${key}: ${actual[key]} is not ${expected[key]} (${JSON.stringify(actual)})`
    );
  }
}

/** The drawing point shown at a screen point. */
function drawingPoint(t: ITransform, sx: number, sy: number): [number, number] {
  return [(sx - t.x) / t.k, (sy - t.y) / t.k];
}

describe('clampZoom', () => {
  it('keeps the zoom between its limits', () => {
    assert.equal(clampZoom(0), MIN_ZOOM);
    assert.equal(clampZoom(100), MAX_ZOOM);
    assert.equal(clampZoom(1), 1);
  });
});

describe('fitTransform', () => {
  it('centres a drawing at the largest zoom that leaves a 20 px margin', () => {
    near(fitTransform(SCREEN, 1520, 560), { k: 0.5, x: 20, y: 160 });
  });

  it('does not enlarge a small drawing past 1.5', () => {
    near(fitTransform(SCREEN, 380, 280), { k: 1.5, x: 115, y: 90 });
  });

  it('treats an empty drawing as 1 × 1', () => {
    near(fitTransform(SCREEN, 0, 0), { k: 1.5, x: 399.25, y: 299.25 });
  });
});

describe('initialTransform', () => {
  it('shows a small drawing centred at zoom 1, not enlarged', () => {
    near(initialTransform(SCREEN, 200, 100), { k: 1, x: 300, y: 250 });
  });

  it('fits a drawing that is readable when fitted', () => {
    near(initialTransform(SCREEN, 950, 500), { k: 0.8, x: 20, y: 100 });
  });

  it('shows a tall drawing from the top at a readable zoom', () => {
    near(initialTransform(SCREEN, 400, 5600), { k: 0.9, x: 220, y: 20 });
  });

  it('shows a very wide drawing whole across, from the top', () => {
    near(initialTransform(SCREEN, 7600, 100), { k: 0.1, x: 20, y: 20 });
  });

  it('shows a long left-to-right drawing from the left at a readable zoom, centred across', () => {
    const t = initialTransform(SCREEN, 5600, 400, 'LR');
    near(t, { k: 0.9, x: 20, y: (SCREEN.height - 400 * 0.9) / 2 });
  });
});

describe('zoomAbout', () => {
  it('keeps the drawing point under the pointer in place', () => {
    const before = { k: 1, x: 10, y: 20 };
    const after = zoomAbout(before, 110, 220, 2);
    near(after, { k: 2, x: -90, y: -180 });
    assert.deepEqual(drawingPoint(after, 110, 220), drawingPoint(before, 110, 220));
  });

  it('stops at the zoom limits without moving', () => {
    const t = { k: MAX_ZOOM, x: 5, y: 7 };
    near(zoomAbout(t, 300, 300, 2), t);
  });
});

describe('centring and visibility', () => {
  it('puts a drawing point in the middle of the screen', () => {
    const t = centredOn(SCREEN, 100, 50, 2);
    near(t, { k: 2, x: 200, y: 200 });
    assert.deepEqual(drawingPoint(t, 400, 300), [100, 50]);
  });

  it('zooms to 1 to show an item only when the current zoom is unreadable', () => {
    assert.equal(readableZoom(0.5), 1);
    assert.equal(readableZoom(0.6), 0.6);
    assert.equal(readableZoom(2), 2);
  });

  it('tells whether a box is wholly on screen', () => {
    const t = { k: 0.5, x: 0, y: 0 };
    assert.ok(boxOnScreen(t, { x: 0, y: 0, w: 1600, h: 1200 }, SCREEN));
    assert.ok(!boxOnScreen(t, { x: 2, y: 0, w: 1600, h: 1200 }, SCREEN));
    assert.ok(!boxOnScreen(t, { x: -2, y: 0, w: 10, h: 10 }, SCREEN));
    assert.ok(!boxOnScreen({ k: 1, x: 0, y: -5 }, { x: 0, y: 0, w: 10, h: 10 }, SCREEN));
  });
});

describe('transformAttribute and wheelFactor', () => {
  it('writes the SVG transform with fixed precision', () => {
    assert.equal(
      transformAttribute({ k: 0.123456789, x: 1.5, y: -2 }),
      'translate(1.50,-2.00) scale(0.12346)'
    );
  });

  it('zooms out on wheel down and in on wheel up, by lines and pages too', () => {
    assert.equal(wheelFactor(0, 0), 1);
    assert.ok(wheelFactor(100, 0) < 1);
    assert.ok(wheelFactor(-100, 0) > 1);
    assert.ok(Math.abs(wheelFactor(100, 0) - Math.exp(-0.15)) < 1e-12);
    assert.equal(wheelFactor(1, 1), Math.exp(-0.05));
    assert.equal(wheelFactor(1, 2), Math.exp(-1));
  });
});
