/**
 * The keyboard of the graph view: which command a key press means, in the view and in its
 * search box. Pure: the viewer runs the commands.
 */

/** What the viewer does for a key pressed in the view. */
export type ViewCommand =
  | 'focusSearch'
  | 'fit'
  | 'expandLevel'
  | 'collapse'
  | 'toggleBreakpoint'
  | 'zoomIn'
  | 'zoomOut'
  | 'escape'
  | 'back'
  | 'direction'
  | 'names';

/** What the viewer does for a key pressed in the search box. */
export type SearchCommand = 'next' | 'previous' | 'clear';

/** The parts of a keyboard event the commands depend on. */
export interface IKeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

/**
 * The command of a key pressed in the view, or null for a key the view leaves alone.
 * `b` toggles a breakpoint only while `canToggleBreakpoint` (breakpoint clicks are on and a
 * node is selected).
 */
export function viewCommand(press: IKeyPress, canToggleBreakpoint: boolean): ViewCommand | null {
  const key = press.key;
  if ((key === 'f' && (press.ctrlKey || press.metaKey)) || key === '/') {
    return 'focusSearch';
  }
  if (press.ctrlKey || press.metaKey || press.altKey) {
    return null;
  }
  switch (key) {
    case 'f':
      return 'fit';
    case 'e':
      return 'expandLevel';
    case 'c':
      return 'collapse';
    case 'b':
      return canToggleBreakpoint ? 'toggleBreakpoint' : null;
    case '+':
    case '=':
      return 'zoomIn';
    case '-':
      return 'zoomOut';
    case 'Escape':
      return 'escape';
    case 'Backspace':
      return 'back';
    case 'l':
      return 'direction';
    case 'n':
      return 'names';
    default:
      return null;
  }
}

/** The command of a key pressed in the search box, or null for typing. */
export function searchCommand(press: IKeyPress): SearchCommand | null {
  if (press.key === 'Enter') {
    return press.shiftKey ? 'previous' : 'next';
  }
  return press.key === 'Escape' ? 'clear' : null;
}
