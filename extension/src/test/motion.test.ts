/**
 * Getting around the view: the wheel (pan or zoom), the view after an expand or collapse,
 * the glide between two views, the details sidebar's width, and which edge labels are drawn.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { detailsWidth, MAX_DETAILS_SHARE, MIN_DETAILS_WIDTH } from '../view/details';
import { placeLabels } from '../view/draw';
import {
  ITransform,
  READABLE_ZOOM,
  boxOnScreen,
  fitTransform,
  interpolate,
  refitTransform,
  wheelAction,
  wheelFactor
} from '../view/panzoom';

const SCREEN = { width: 800, height: 600 };

/** A transform that must be there. */
function must(t: ITransform | null): ITransform {
  assert.ok(t, 'expected a transform, got null');
  return t as ITransform;
}
const wheel = (deltaX: number, deltaY: number, ctrlKey = false, deltaMode = 0) => ({
  deltaX,
  deltaY,
  deltaMode,
  ctrlKey,
  metaKey: false
});

describe('wheelAction', () => {
  it('pans by the wheel, both ways, and zooms with ctrl (a trackpad pinch)', () => {
    assert.deepEqual(wheelAction(wheel(30, 120), 'pan', 600), { dx: -30, dy: -120 });
    assert.deepEqual(wheelAction(wheel(0, 120, true), 'pan', 600), {
      zoom: wheelFactor(120, 0)
    });
    assert.deepEqual(wheelAction({ ...wheel(0, -50), metaKey: true }, 'pan', 600), {
      zoom: wheelFactor(-50, 0)
    });
  });

  it('turns lines and pages into pixels', () => {
    assert.deepEqual(wheelAction(wheel(0, 3, false, 1), 'pan', 600), { dx: -0, dy: -48 });
    assert.deepEqual(wheelAction(wheel(0, 1, false, 2), 'pan', 600), { dx: -0, dy: -600 });
  });

  it('swaps the two with the zoom setting', () => {
    assert.deepEqual(wheelAction(wheel(0, 120), 'zoom', 600), { zoom: wheelFactor(120, 0) });
    assert.deepEqual(wheelAction(wheel(10, 120, true), 'zoom', 600), { dx: -10, dy: -120 });
  });
});

describe('refitTransform', () => {
  it('stays put when the drawing was not fitted and is readable', () => {
    assert.equal(refitTransform(SCREEN, { k: 1, x: -300, y: -900 }, 2000, 3000, false), null);
  });

  it('zooms in on a collapsed drawing left as a dot, not past 1', () => {
    const t = must(refitTransform(SCREEN, { k: 0.05, x: 380, y: 20 }, 200, 300, false));
    assert.equal(t.k, 1);
    assert.ok(boxOnScreen(t, { x: 0, y: 0, w: 200, h: 300 }, SCREEN));
  });

  it('fits again a drawing that was fitted, at up to the zoom it had (or 1)', () => {
    const t = must(refitTransform(SCREEN, { k: 1.5, x: 0, y: 0 }, 400, 300, true));
    assert.deepEqual(t, fitTransform(SCREEN, 400, 300));
    const u = must(refitTransform(SCREEN, { k: 0.8, x: 0, y: 0 }, 100, 100, true));
    assert.equal(u.k, 1);
  });

  it('shows a group expanded in a fitted view at a readable zoom when the fit is not', () => {
    const focus = { x: 100, y: 4000, w: 300, h: 2000 };
    const t = must(refitTransform(SCREEN, { k: 0.1, x: 0, y: 0 }, 1000, 9000, true, focus));
    assert.ok(t.k >= READABLE_ZOOM);
    // the group's head is on screen, at the top, centred across
    assert.ok(boxOnScreen(t, { ...focus, h: 30 }, SCREEN));
    assert.equal(t.x + (focus.x + focus.w / 2) * t.k, SCREEN.width / 2);
  });

  it('zooms out of a drawing shown too large', () => {
    const t = must(refitTransform(SCREEN, { k: 3.5, x: -900, y: -900 }, 400, 300, false));
    assert.ok(t.k <= 1.5);
  });
});

describe('interpolate', () => {
  const a: ITransform = { k: 0.1, x: 10, y: 20 };
  const b: ITransform = { k: 1.6, x: -400, y: 300 };

  it('starts at one view and ends at the other', () => {
    const start = interpolate(SCREEN, a, b, 0);
    const end = interpolate(SCREEN, a, b, 1);
    for (const key of ['k', 'x', 'y'] as const) {
      assert.ok(Math.abs(start[key] - a[key]) < 1e-9);
      assert.ok(Math.abs(end[key] - b[key]) < 1e-9);
    }
  });

  it('changes the zoom geometrically', () => {
    assert.ok(Math.abs(interpolate(SCREEN, a, b, 0.5).k - 0.4) < 1e-9);
  });
});

describe('detailsWidth', () => {
  it('follows the drag of the left edge', () => {
    assert.equal(detailsWidth(320, -100, 1200), 420);
    assert.equal(detailsWidth(320, 50, 1200), 270);
  });

  it('keeps between its minimum and a share of the view', () => {
    assert.equal(detailsWidth(320, 500, 1200), MIN_DETAILS_WIDTH);
    assert.equal(detailsWidth(320, -5000, 1200), 1200 * MAX_DETAILS_SHARE);
    assert.equal(detailsWidth(320, -5000, 100), MIN_DETAILS_WIDTH);
  });
});

describe('placeLabels', () => {
  const box = (x: number, y: number, w = 60, h = 14) => ({ x, y, w, h });

  it('keeps labels that meet nothing', () => {
    assert.deepEqual(
      placeLabels([
        { box: box(0, 0), boxes: [] },
        { box: box(0, 20), boxes: [] }
      ]),
      [0, 1]
    );
  });

  it('drops a label that meets one kept before it, even across grid cells', () => {
    const spots = [
      { box: box(50, 50), boxes: [] },
      { box: box(100, 60), boxes: [] },
      { box: box(200, 200), boxes: [] }
    ];
    assert.deepEqual(placeLabels(spots), [0, 2]);
  });

  it('drops a label that meets a box of its level', () => {
    const spots = [{ box: box(0, 0), boxes: [box(40, 5, 100, 40)] }];
    assert.deepEqual(placeLabels(spots), []);
  });
});
