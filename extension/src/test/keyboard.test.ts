/**
 * keyboard.ts: which command each key means in the view and in its search box.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { IKeyPress, searchCommand, viewCommand } from '../view/keyboard';

function press(key: string, mods: Partial<IKeyPress> = {}): IKeyPress {
  return { key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods };
}

describe('viewCommand', () => {
  it('maps the documented keys', () => {
    const keys: Array<[string, string]> = [
      ['f', 'fit'],
      ['e', 'expandLevel'],
      ['c', 'collapse'],
      ['+', 'zoomIn'],
      ['=', 'zoomIn'],
      ['-', 'zoomOut'],
      ['Escape', 'escape'],
      ['Backspace', 'back'],
      ['l', 'direction'],
      ['n', 'names'],
      ['/', 'focusSearch']
    ];
    for (const [key, command] of keys) {
      assert.equal(viewCommand(press(key), false), command, key);
    }
  });

  it('focuses the search on Ctrl+F and Cmd+F', () => {
    assert.equal(viewCommand(press('f', { ctrlKey: true }), false), 'focusSearch');
    assert.equal(viewCommand(press('f', { metaKey: true }), false), 'focusSearch');
  });

  it('leaves other modified keys to the page', () => {
    assert.equal(viewCommand(press('e', { ctrlKey: true }), false), null);
    assert.equal(viewCommand(press('c', { metaKey: true }), false), null);
    assert.equal(viewCommand(press('f', { altKey: true }), false), null);
    assert.equal(viewCommand(press('-', { altKey: true }), false), null);
  });

  it('toggles a breakpoint on b only when it can', () => {
    assert.equal(viewCommand(press('b'), true), 'toggleBreakpoint');
    assert.equal(viewCommand(press('b'), false), null);
  });

  it('ignores keys it has no use for (upper case included)', () => {
    for (const key of ['x', 'F', 'E', 'Enter', 'ArrowUp', ' ']) {
      assert.equal(viewCommand(press(key), true), null, key);
    }
  });
});

describe('searchCommand', () => {
  it('steps with Enter and Shift+Enter and clears with Escape', () => {
    assert.equal(searchCommand(press('Enter')), 'next');
    assert.equal(searchCommand(press('Enter', { shiftKey: true })), 'previous');
    assert.equal(searchCommand(press('Escape')), 'clear');
  });

  it('leaves typing alone', () => {
    assert.equal(searchCommand(press('a')), null);
    assert.equal(searchCommand(press('/')), null);
  });
});
