/**
 * The context menu of the graph view: a right-click on a node, a group or a graph input or
 * output opens a small menu at the pointer (copy its name or id, find nodes of its op type or
 * what reads its outputs, select it; expand or collapse a group). Escape, a click elsewhere,
 * the wheel, a scroll or another right-click close it; the arrow keys move between its entries
 * and Enter runs one. A right-click anywhere else leaves the browser's own menu alone.
 *
 * Plain DOM; every string from the model is written with `textContent`. The entries a drawn
 * item gets, the search queries and the keyboard are pure functions, tested on their own.
 */
import { CSS } from './css';
import { html } from './dom';
import type { IDrawn } from './draw';
import { IDetails, Item } from './types';

/** What an entry of the menu does. */
export type MenuAction =
  /** Copies the text to the clipboard. */
  | { kind: 'copy'; text: string }
  /** Copies the node's name (read from its details, which may have to be fetched). */
  | { kind: 'copyName'; node: string }
  /** Fills the view's search with the query. */
  | { kind: 'search'; query: string }
  /** Searches the values the node writes (read from its details). */
  | { kind: 'findOutputs'; node: string }
  /** Selects the item, as a click does. */
  | { kind: 'select' }
  /** Expands (or collapses) a group. */
  | { kind: 'expand'; group: string; open: boolean };

/** One entry of the menu. */
export interface IMenuChoice {
  label: string;
  action: MenuAction;
}

/** Escapes the characters that mean something in a regular expression (JavaScript or Python). */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * The search query that finds exactly these names (not every name that contains one):
 * `/^name$/`, or `/^(?:a|b)$/` for several; an empty string for none.
 */
export function exactQuery(names: string[]): string {
  const unique = [...new Set(names.filter(name => name !== ''))];
  if (!unique.length) {
    return '';
  }
  const body = unique.map(escapeRegex).join('|');
  return unique.length === 1 ? `/^${body}$/` : `/^(?:${body})$/`;
}

/**
 * The entries of the menu of a drawn item (none: the browser's menu shows instead).
 * `expanded` says whether a group item is drawn open; `op` is the op type of a reference's node.
 */
export function menuFor(item: Item, expanded: boolean, op?: string): IMenuChoice[] {
  switch (item.kind) {
    case 'node':
    case 'ref': {
      const opType = item.kind === 'node' ? item.op : op;
      const choices: IMenuChoice[] = [
        { label: 'Copy name', action: { kind: 'copyName', node: item.node } },
        { label: 'Copy id', action: { kind: 'copy', text: item.node } }
      ];
      if (opType) {
        choices.push({
          label: 'Find nodes of this op type',
          action: { kind: 'search', query: exactQuery([opType]) }
        });
      }
      choices.push(
        { label: 'Find where its outputs go', action: { kind: 'findOutputs', node: item.node } },
        { label: 'Select', action: { kind: 'select' } }
      );
      return choices;
    }
    case 'group':
      return [
        {
          label: expanded ? 'Collapse' : 'Expand',
          action: { kind: 'expand', group: item.group, open: !expanded }
        },
        { label: 'Copy name', action: { kind: 'copy', text: item.label } }
      ];
    case 'input':
    case 'output':
      return [
        { label: 'Copy name', action: { kind: 'copy', text: item.label } },
        { label: 'Select', action: { kind: 'select' } }
      ];
  }
}

/**
 * The entry a key moves to in a menu of `count` entries from `index` (-1: none yet): the
 * arrows step and wrap, Home and End go to the ends; null for any other key.
 */
export function moveIndex(index: number, count: number, key: string): number | null {
  if (count <= 0) {
    return null;
  }
  switch (key) {
    case 'ArrowDown':
      return index < 0 ? 0 : (index + 1) % count;
    case 'ArrowUp':
      return index < 0 ? count - 1 : (index - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

/**
 * Where a menu of `w` × `h` opens for a pointer at (x, y), in a host of `width` × `height`
 * (all in the host's pixels): at the pointer, moved back inside the host where it would
 * overflow it.
 */
export function menuPosition(
  x: number,
  y: number,
  w: number,
  h: number,
  width: number,
  height: number
): { x: number; y: number } {
  const MARGIN = 2;
  return {
    x: Math.max(0, Math.min(x, width - w - MARGIN)),
    y: Math.max(0, Math.min(y, height - h - MARGIN))
  };
}

/**
 * Copies text to the clipboard: the Clipboard API, else the older `execCommand('copy')`.
 * Resolves to whether it worked; never throws (where neither is allowed, nothing happens).
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // not allowed here (an insecure origin, no permission): try the older way
  }
  try {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand('copy');
    area.remove();
    return done;
  } catch {
    return false;
  }
}

/** What the menu asks of its viewer. */
export interface IMenuHost {
  /** The drawn item an event target is in, if any. */
  itemAt(target: EventTarget | null): IDrawn | undefined;
  isExpanded(groupId: string): boolean;
  /** The op type of a model node drawn elsewhere (for a reference), if loaded. */
  opOf(nodeId: string): string | undefined;
  details(nodeId: string): Promise<IDetails>;
  search(query: string): void;
  /** Selects the item as a click on it does. */
  select(drawn: IDrawn): void;
  setExpanded(groupId: string, open: boolean): void;
  /** Gives the view the keyboard back. */
  focus(): void;
}

/** How long (ms) the note that says what was copied stays. */
const COPIED_MS = 1800;

/** The context menu of one viewer (plain DOM, placed in the viewer's host). */
export class ContextMenu {
  /** The menu element, in the host while open. */
  readonly node: HTMLDivElement;
  private entries: HTMLButtonElement[] = [];
  private note: HTMLDivElement | null = null;
  private noteTimer = 0;

  constructor(
    private host: HTMLElement,
    private view: IMenuHost
  ) {
    this.node = html('div', `${CSS}contextMenu`);
    this.node.setAttribute('role', 'menu');
    this.node.addEventListener('keydown', this.onKeyDown);
    this.node.addEventListener('contextmenu', event => event.preventDefault());
    // Presses inside the menu are the menu's: not a pan, not a click on the canvas.
    this.node.addEventListener('pointerdown', event => event.stopPropagation());
  }

  /** Whether the menu is open. */
  get isOpen(): boolean {
    return this.node.isConnected;
  }

  /**
   * Opens the menu of the item under a right-click, at the pointer; anywhere else it closes
   * the menu and leaves the event to the browser (its own context menu).
   */
  openAt = (event: MouseEvent): void => {
    this.close(false);
    const drawn = this.view.itemAt(event.target);
    if (!drawn) {
      return;
    }
    const item = drawn.item;
    const expanded = item.kind === 'group' && this.view.isExpanded(item.group);
    const op = item.kind === 'ref' ? this.view.opOf(item.node) : undefined;
    const choices = menuFor(item, expanded, op);
    if (!choices.length) {
      return;
    }
    // Ours, not the browser's, nor the host's (JupyterLab opens its own on the document).
    event.preventDefault();
    event.stopPropagation();
    if (item.kind === 'node' || item.kind === 'ref') {
      // Fetched now, so that its name and outputs are at hand when an entry needs them.
      this.view.details(item.node).catch(() => undefined);
    }
    this.entries = choices.map(choice => {
      const entry = html('button', `${CSS}menuEntry`, choice.label);
      entry.type = 'button';
      entry.tabIndex = -1;
      entry.setAttribute('role', 'menuitem');
      entry.dataset.action = choice.action.kind;
      entry.addEventListener('click', clicked => {
        clicked.stopPropagation();
        this.close(true);
        void this.run(choice.action, drawn);
      });
      entry.addEventListener('pointermove', () => entry.focus({ preventScroll: true }));
      return entry;
    });
    this.node.replaceChildren(...this.entries);
    this.host.appendChild(this.node);
    const box = this.host.getBoundingClientRect();
    const at = menuPosition(
      event.clientX - box.left,
      event.clientY - box.top,
      this.node.offsetWidth,
      this.node.offsetHeight,
      box.width,
      box.height
    );
    this.node.style.left = `${at.x}px`;
    this.node.style.top = `${at.y}px`;
    this.entries[0].focus({ preventScroll: true });
    document.addEventListener('pointerdown', this.onOutside, true);
    document.addEventListener('wheel', this.onDismiss, true);
    document.addEventListener('scroll', this.onDismiss, true);
    window.addEventListener('blur', this.onDismiss);
    window.addEventListener('resize', this.onDismiss);
  };

  /** Closes the menu; with `refocus`, the view gets the keyboard back. */
  close(refocus = false): void {
    document.removeEventListener('pointerdown', this.onOutside, true);
    document.removeEventListener('wheel', this.onDismiss, true);
    document.removeEventListener('scroll', this.onDismiss, true);
    window.removeEventListener('blur', this.onDismiss);
    window.removeEventListener('resize', this.onDismiss);
    if (!this.isOpen) {
      return;
    }
    const hadFocus = this.node.contains(document.activeElement);
    this.node.remove();
    this.entries = [];
    if (refocus || hadFocus) {
      this.view.focus();
    }
  }

  /** Runs an entry's action on the item the menu was opened for. */
  private async run(action: MenuAction, drawn: IDrawn): Promise<void> {
    switch (action.kind) {
      case 'copy':
        await this.copy(action.text);
        break;
      case 'copyName': {
        const details = await this.details(action.node);
        await this.copy(details?.name || action.node);
        break;
      }
      case 'search':
        this.view.search(action.query);
        break;
      case 'findOutputs': {
        const details = await this.details(action.node);
        const query = exactQuery((details?.outputs ?? []).map(value => value.name));
        if (query) {
          this.view.search(query);
        } else {
          this.showNote('its outputs are not known here');
        }
        break;
      }
      case 'select':
        this.view.select(drawn);
        break;
      case 'expand':
        this.view.setExpanded(action.group, action.open);
        break;
    }
  }

  private async details(nodeId: string): Promise<IDetails | null> {
    try {
      return await this.view.details(nodeId);
    } catch {
      return null;
    }
  }

  private async copy(text: string): Promise<void> {
    const copied = await copyText(text);
    this.showNote(copied ? `copied: ${text}` : 'the clipboard is not available here');
  }

  /** Says, for a moment, in the corner of the view, what an entry did. */
  private showNote(text: string): void {
    if (!this.note) {
      this.note = html('div', `${CSS}menuNote`);
      this.note.setAttribute('role', 'status');
    }
    this.note.textContent = text;
    this.host.appendChild(this.note);
    window.clearTimeout(this.noteTimer);
    this.noteTimer = window.setTimeout(() => this.note?.remove(), COPIED_MS);
  }

  private onOutside = (event: Event): void => {
    if (!(event.target instanceof Node) || !this.node.contains(event.target)) {
      this.close(false);
    }
  };

  private onDismiss = (event: Event): void => {
    if (
      event.type === 'scroll' &&
      event.target instanceof Node &&
      this.node.contains(event.target)
    ) {
      return;
    }
    this.close(false);
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    const index = this.entries.findIndex(entry => entry === document.activeElement);
    const next = moveIndex(index, this.entries.length, event.key);
    if (next !== null) {
      this.entries[next].focus({ preventScroll: true });
    } else if (event.key === 'Enter' || event.key === ' ') {
      (this.entries[index] ?? this.entries[0])?.click();
    } else if (event.key === 'Escape') {
      this.close(true);
    } else if (event.key === 'Tab') {
      this.close(true);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  };
}
