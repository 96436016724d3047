/**
 * The toolbar above the graph: the breadcrumb of the roots entered, the search box with its
 * hit counter and buttons, and the expand, collapse and zoom buttons.
 */
import { CSS } from './css';
import { button, html } from './dom';
import type { LayoutDirection } from './dot';
import type { IRoot } from './navigation';
import { ISearchResult } from './search';

/** What the toolbar's buttons do. */
export interface IToolbarActions {
  previousHit(): void;
  nextHit(): void;
  expandLevel(): void;
  collapseAll(): void;
  zoomIn(): void;
  zoomOut(): void;
  fit(): void;
  toggleDirection(): void;
  toggleNames(): void;
  save(format: 'svg' | 'png'): void;
}

/** What the hit counter says: its text, its tooltip and whether it shows an error. */
export interface ICounterState {
  text: string;
  title: string;
  error: boolean;
}

/**
 * The hit counter for a search result (null: no search), the index of the current hit
 * (-1: none yet) and the error of a malformed regex.
 */
export function counterState(
  result: ISearchResult | null,
  hitIndex: number,
  error: string | null
): ICounterState {
  if (error) {
    return { text: 'bad regex', title: error, error: true };
  }
  if (!result) {
    return { text: '', title: '', error: false };
  }
  const n = result.hits.length;
  let text = !n
    ? 'no hits'
    : hitIndex < 0
      ? `${n} hit${n === 1 ? '' : 's'}`
      : `${hitIndex + 1} / ${n}`;
  let title = '';
  if (result.total !== undefined && result.total > n) {
    text += ` (of ${result.total})`;
    title = `${result.total} matches in the model; the first ${n} are listed: narrow the search.`;
  }
  if (result.pending) {
    text += ' (searching the model…)';
  } else if (result.unsearched) {
    text += ` (+${result.unsearched} not loaded)`;
    title =
      `${result.unsearched} group(s) are not loaded yet and were not searched; ` +
      'expand them to search inside.';
  }
  return { text, title, error: false };
}

/** The toolbar (plain DOM). */
export class Toolbar {
  /** The element to place in the view. */
  readonly node: HTMLDivElement;
  /** The search box. */
  readonly searchInput: HTMLInputElement;
  private breadcrumb: HTMLDivElement;
  private counter: HTMLSpanElement;
  private directionButton: HTMLButtonElement;
  private namesButton: HTMLButtonElement;

  constructor(actions: IToolbarActions) {
    this.node = html('div', `${CSS}toolbar`);
    this.breadcrumb = html('div', `${CSS}breadcrumb`);
    this.searchInput = html('input', `${CSS}search`);
    this.searchInput.type = 'search';
    this.searchInput.placeholder = 'search name, op, id  (/regex/)';
    this.searchInput.spellcheck = false;
    this.counter = html('span', `${CSS}counter`);
    this.directionButton = button(`${CSS}direction`, '⇉', '', () => actions.toggleDirection());
    this.namesButton = button(`${CSS}names`, 'Aa', '', () => actions.toggleNames());
    this.setNames(false);
    this.setDirection('TB');
    this.node.append(
      this.breadcrumb,
      html('div', `${CSS}spacer`),
      this.searchInput,
      this.counter,
      button(`${CSS}prev`, '↑', 'previous hit (Shift+Enter)', () => actions.previousHit()),
      button(`${CSS}next`, '↓', 'next hit (Enter)', () => actions.nextHit()),
      html('span', `${CSS}separator`),
      button(`${CSS}expandAll`, '⊞', 'expand one more level (e)', () => actions.expandLevel()),
      button(`${CSS}collapseAll`, '⊟', 'collapse all (c)', () => actions.collapseAll()),
      button(`${CSS}zoomIn`, '+', 'zoom in (+)', () => actions.zoomIn()),
      button(`${CSS}zoomOut`, '−', 'zoom out (-)', () => actions.zoomOut()),
      button(`${CSS}fit`, '⤢', 'fit to screen (f)', () => actions.fit()),
      html('span', `${CSS}separator`),
      this.directionButton,
      this.namesButton,
      button(`${CSS}saveSvg`, 'SVG', 'save the view as an SVG file', () => actions.save('svg')),
      button(`${CSS}savePng`, 'PNG', 'save the view as a PNG file', () => actions.save('png'))
    );
  }

  /** Shows which layout the direction button switches to. */
  setDirection(direction: LayoutDirection): void {
    const next = direction === 'TB' ? 'left to right' : 'top to bottom';
    this.directionButton.textContent = direction === 'TB' ? '⇉' : '⇊';
    this.directionButton.title = `lay out ${next} (l)`;
  }

  /** Shows whether node names are on (the button is pressed while they are). */
  setNames(on: boolean): void {
    this.namesButton.title = `${on ? 'hide' : 'show'} node names (n)`;
    this.namesButton.setAttribute('aria-pressed', String(on));
    this.namesButton.classList.toggle(`${CSS}pressed`, on);
  }

  /** Says why an action failed, in the counter's place, for a few seconds. */
  flash(text: string): void {
    this.counter.classList.add(`${CSS}error`);
    this.counter.textContent = text;
    setTimeout(() => {
      if (this.counter.textContent === text) {
        this.counter.textContent = '';
        this.counter.classList.remove(`${CSS}error`);
      }
    }, 5000);
  }

  /** Shows the roots entered; a click on one but the last goes back to it (by depth). */
  renderBreadcrumb(roots: IRoot[], back: (depth: number) => void): void {
    this.breadcrumb.replaceChildren();
    roots.forEach((root, i) => {
      if (i > 0) {
        this.breadcrumb.appendChild(html('span', `${CSS}crumbSeparator`, '›'));
      }
      const last = i === roots.length - 1;
      const crumb = html('button', `${CSS}crumb`, root.label);
      crumb.type = 'button';
      crumb.disabled = last;
      crumb.setAttribute('data-group', root.id);
      crumb.addEventListener('click', () => back(i));
      this.breadcrumb.appendChild(crumb);
    });
  }

  /** Shows the hit counter (see {@link counterState}). */
  renderCounter(result: ISearchResult | null, hitIndex: number, error: string | null): void {
    const state = counterState(result, hitIndex, error);
    this.counter.classList.toggle(`${CSS}error`, state.error);
    this.counter.textContent = state.text;
    this.counter.title = state.title;
  }
}
