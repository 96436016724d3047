/**
 * The details panel of one model node: op, names, attributes, inputs and outputs with
 * their types (and weight statistics), cost and provenance; in a model diff's view, the
 * node's status, what changed, and its details in each model side by side. Text only,
 * never HTML.
 */
import { CSS } from './css';
import { STATUS_NAMES, diffStatus } from './diff';
import { button, html } from './dom';
import { download, fileName } from './export';
import { IDetails, IDiffDetails, IOperatorDoc, ITensorView, IValueDetails } from './types';

/** Formats a FLOP count with a metric prefix: 1.2 GFLOPs. */
export function formatFlops(flops: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let value = flops;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit ? value.toFixed(2) : value} ${units[unit]}FLOPs`;
}

function formatNumber(value: number | null): string {
  if (value === null) {
    return 'n/a';
  }
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

function section(title: string): HTMLElement {
  const node = html('section', `${CSS}detailsSection`);
  node.appendChild(html('h4', undefined, title));
  return node;
}

/** A two-column table; rows for which `differs` holds are marked (a diff's changed attributes). */
function keyValueTable(
  rows: Array<[string, string]>,
  className: string,
  differs: (key: string, value: string) => boolean = () => false
): HTMLTableElement {
  const table = html('table', className);
  for (const [key, value] of rows) {
    const tr = html('tr', differs(key, value) ? `${CSS}differs` : undefined);
    tr.appendChild(html('th', undefined, key));
    tr.appendChild(html('td', undefined, value));
    table.appendChild(tr);
  }
  return table;
}

/** Where the panel gets a weight's values: the view's source, where it has a tensor viewer. */
export type TensorSource = (name: string, index: string, npy: boolean) => Promise<ITensorView>;

/**
 * The tensor viewer of one weight, opened under its entry: an index box (`0, :, 1:3`), numpy's
 * print of the values (summarised beyond 1,000), their statistics, and a button that saves the
 * slice shown as a `.npy` file.
 */
function tensorViewer(name: string, source: TensorSource): HTMLElement {
  const box = html('div', `${CSS}tensor`);
  const index = html('input', `${CSS}tensorIndex`);
  index.type = 'text';
  index.placeholder = 'index, e.g. 0, :, 1:3';
  index.spellcheck = false;
  const values = html('pre', `${CSS}tensorValues`, 'loading…');
  const facts = html('div', `${CSS}stats`);
  const show = () => {
    const asked = index.value;
    values.textContent = 'loading…';
    source(name, asked, false).then(
      view => {
        if (index.value !== asked) {
          return;
        }
        values.classList.remove(`${CSS}error`);
        values.textContent = view.text;
        const stats = view.stats;
        facts.textContent =
          `${view.dtype} ⟨${view.view_shape}⟩ of ⟨${view.shape}⟩` +
          (stats
            ? ` · min ${formatNumber(stats.min)} · max ${formatNumber(stats.max)}` +
              ` · mean ${formatNumber(stats.mean)}`
            : '');
      },
      (error: unknown) => {
        values.classList.add(`${CSS}error`);
        values.textContent = error instanceof Error ? error.message : String(error);
      }
    );
  };
  index.addEventListener('keydown', event => {
    event.stopPropagation(); // typing here is not a command of the view
    if (event.key === 'Enter') {
      show();
    }
  });
  const save = button(`${CSS}saveNpy`, 'save .npy', 'save the values shown as a .npy file', () => {
    source(name, index.value, true).then(
      view => {
        const bytes = Uint8Array.from(atob(view.npy ?? ''), c => c.charCodeAt(0));
        download(new Blob([bytes], { type: 'application/octet-stream' }), fileName(name, 'npy'));
      },
      (error: unknown) => {
        values.classList.add(`${CSS}error`);
        values.textContent = error instanceof Error ? error.message : String(error);
      }
    );
  });
  const row = html('div', `${CSS}tensorRow`);
  row.append(index, save);
  box.append(row, facts, values);
  show();
  return box;
}

function valueList(
  title: string,
  values: IValueDetails[],
  tensors: TensorSource | null
): HTMLElement {
  const node = section(`${title} (${values.length})`);
  for (const v of values) {
    const entry = html('div', `${CSS}detailsValue`);
    const name = html('div', `${CSS}name`);
    if (v.role) {
      name.appendChild(html('span', `${CSS}role`, v.role));
    }
    name.appendChild(document.createTextNode(v.name || '(none)'));
    if (v.kind !== 'value') {
      name.appendChild(html('span', `${CSS}tag`, v.kind));
    }
    entry.appendChild(name);
    entry.appendChild(html('div', `${CSS}type`, v.shape ? `${v.dtype} ⟨${v.shape}⟩` : v.dtype));
    if (v.stats) {
      entry.appendChild(
        html(
          'div',
          `${CSS}stats`,
          `min ${formatNumber(v.stats.min)} · max ${formatNumber(v.stats.max)} · ` +
            `mean ${formatNumber(v.stats.mean)} · std ${formatNumber(v.stats.std)}`
        )
      );
    }
    if (tensors && v.kind === 'initializer') {
      let viewer: HTMLElement | null = null;
      const open = button(`${CSS}showValues`, 'values', `show the values of ${v.name}`, () => {
        if (viewer) {
          viewer.remove();
          viewer = null;
        } else {
          viewer = tensorViewer(v.name, tensors);
          entry.appendChild(viewer);
        }
      });
      entry.appendChild(open);
    }
    node.appendChild(entry);
  }
  return node;
}

/** An operator's documentation: what it does, since which opset, its inputs, outputs, attributes. */
function operatorDoc(op: IOperatorDoc): HTMLElement {
  const node = section(`${op.domain}.${op.op}, since opset ${op.since}`);
  node.classList.add(`${CSS}operatorDoc`);
  node.appendChild(html('p', `${CSS}operatorSummary`, op.summary));
  const parts: Array<[string, Array<[string, string]>]> = [
    ['inputs', op.inputs.map(([name, type, text]) => [`${name}: ${type}`, text])],
    ['outputs', op.outputs.map(([name, type, text]) => [`${name}: ${type}`, text])],
    ['attributes', op.attributes]
  ];
  for (const [title, rows] of parts) {
    if (rows.length) {
      node.appendChild(html('h5', undefined, title));
      node.appendChild(keyValueTable(rows, `${CSS}operatorTable`));
    }
  }
  return node;
}

/** A subgraph or function body the panel offers to enter: [label, group id]. */
export type BodyLink = [string, string];

/** What the panel does with a body link: shows that subgraph or function. */
type Enter = (groupId: string, label: string) => void;

/** The links into a node's subgraph and function bodies. */
function bodiesSection(bodies: BodyLink[], enter: Enter): HTMLElement {
  const node = section('bodies');
  for (const [label, groupId] of bodies) {
    const link = html('button', `${CSS}button ${CSS}enter`, `enter ${label} ›`);
    link.type = 'button';
    link.setAttribute('data-group', groupId);
    link.addEventListener('click', () => enter(groupId, label));
    node.appendChild(link);
  }
  return node;
}

/**
 * Builds the panel's content for one node: its diff where it has one (a model diff's view),
 * else its details.
 */
export function renderDetails(
  d: IDetails,
  bodies: BodyLink[],
  enter: Enter,
  tensors: TensorSource | null = null
): HTMLElement {
  return d.diff
    ? diffDetails(d, d.diff, bodies, enter, tensors)
    : nodeDetails(d, bodies, enter, tensors);
}

/**
 * A node's diff: its status, its ids in a and b, the list of changes, then its details in each
 * model side by side (attributes whose value differs from the other side's marked), or
 * "not in a" / "not in b". Only b's weights offer their values: the diff's source reads
 * weights by name from the union of both models, which holds b's under their own names.
 */
function diffDetails(
  d: IDetails,
  diff: IDiffDetails,
  bodies: BodyLink[],
  enter: Enter,
  tensors: TensorSource | null
): HTMLElement {
  const root = html('div', `${CSS}detailsBody ${CSS}diffDetails`);
  const status = diffStatus(diff.status);
  const head = html('div', `${CSS}detailsOp`, d.op);
  const chip = html('span', `${CSS}diffStatus ${CSS}diff-${status}`, STATUS_NAMES[status]);
  chip.dataset.status = status;
  head.appendChild(chip);
  root.appendChild(head);
  const ids: Array<[string, string]> = [
    ['id in a', diff.a ?? '(none)'],
    ['id in b', diff.b ?? '(none)']
  ];
  root.appendChild(keyValueTable(ids, `${CSS}detailsFacts`));
  if (bodies.length) {
    root.appendChild(bodiesSection(bodies, enter));
  }
  if (diff.changes.length) {
    const node = section(`changes (${diff.changes.length})`);
    node.appendChild(keyValueTable(diff.changes, `${CSS}diffChanges`));
    root.appendChild(node);
  }
  const sides = html('div', `${CSS}diffSides`);
  const { a, b } = diff.sides ?? { a: null, b: null };
  for (const [side, mine, other] of [
    ['a', a, b],
    ['b', b, a]
  ] as const) {
    const column = html('div', `${CSS}diffSide`);
    column.dataset.side = side;
    column.appendChild(html('div', `${CSS}diffSideHead`, side));
    column.appendChild(
      mine
        ? nodeDetails(mine, [], enter, tensors && sideTensors(tensors, side), other)
        : html('div', `${CSS}diffMissing`, `not in ${side}`)
    );
    sides.appendChild(column);
  }
  root.appendChild(sides);
  return root;
}

/** A side's weights: b's are the union's own; a's are asked for as `a:<name>`. */
function sideTensors(tensors: TensorSource, side: 'a' | 'b'): TensorSource {
  return side === 'b' ? tensors : (name, index, npy) => tensors(`a:${name}`, index, npy);
}

/**
 * One node's details. With `other` (the node in the other model of a diff), attributes whose
 * value differs there are marked.
 */
function nodeDetails(
  d: IDetails,
  bodies: BodyLink[],
  enter: Enter,
  tensors: TensorSource | null,
  other: IDetails | null = null
): HTMLElement {
  const root = html('div', `${CSS}detailsBody`);
  const head = html('div', `${CSS}detailsOp`, d.op);
  if (d.domain) {
    head.appendChild(html('span', `${CSS}tag`, d.domain));
  }
  root.appendChild(head);
  if (d.operator) {
    const doc = operatorDoc(d.operator);
    doc.hidden = true;
    head.appendChild(
      button(`${CSS}opHelp`, '?', `what ${d.op} does (onnx's documentation)`, () => {
        doc.hidden = !doc.hidden;
      })
    );
    root.appendChild(doc);
  }
  const facts: Array<[string, string]> = [
    ['name', d.name || '(unnamed)'],
    ['id', d.id],
    ['scope', d.scope || '(top level)']
  ];
  if (d.flops !== null && d.flops !== undefined) {
    facts.push(['FLOPs', formatFlops(d.flops)]);
  }
  facts.push(['params', d.params.toLocaleString('en-US')]);
  root.appendChild(keyValueTable(facts, `${CSS}detailsFacts`));
  if (bodies.length) {
    root.appendChild(bodiesSection(bodies, enter));
  }
  if (d.attributes.length) {
    const node = section(`attributes (${d.attributes.length})`);
    const theirs = other ? new Map(other.attributes) : null;
    const differs = (key: string, value: string) => !!theirs && theirs.get(key) !== value;
    node.appendChild(keyValueTable(d.attributes, `${CSS}detailsAttributes`, differs));
    root.appendChild(node);
  }
  root.appendChild(valueList('inputs', d.inputs, tensors));
  root.appendChild(valueList('outputs', d.outputs, tensors));
  if (d.doc) {
    const node = section('doc string');
    node.appendChild(html('p', `${CSS}doc`, d.doc));
    root.appendChild(node);
  }
  if (d.stack) {
    const node = section('stack trace');
    node.appendChild(html('pre', `${CSS}stack`, d.stack));
    root.appendChild(node);
  }
  return root;
}

/** The narrowest the panel can be dragged, in px. */
export const MIN_DETAILS_WIDTH = 180;
/** The widest the panel can be dragged, as a share of the view's body. */
export const MAX_DETAILS_SHARE = 0.75;

/**
 * The panel width for a drag of its left edge: `start` px wide at first, the pointer moved
 * `dx` px (left is negative), in a body `body` px wide.
 */
export function detailsWidth(start: number, dx: number, body: number): number {
  const max = Math.max(MIN_DETAILS_WIDTH, body * MAX_DETAILS_SHARE);
  return Math.round(Math.min(max, Math.max(MIN_DETAILS_WIDTH, start - dx)));
}

/**
 * The details panel beside the canvas: a sidebar of bounded width that scrolls inside itself,
 * with a head (close button), one node's details, and a left edge that drags to resize it.
 */
export class DetailsPanel {
  /** The element to place in the view; `data-node` holds the node shown. */
  readonly node: HTMLDivElement;
  /** Where weights' values come from; null: the panel offers no tensor viewer. */
  tensors: TensorSource | null = null;
  private content: HTMLDivElement;

  constructor() {
    this.node = html('div', `${CSS}details`);
    const edge = html('div', `${CSS}detailsResize`);
    edge.title = 'drag to resize';
    edge.setAttribute('role', 'separator');
    edge.setAttribute('aria-orientation', 'vertical');
    edge.addEventListener('pointerdown', this.onResizeStart);
    this.node.appendChild(edge);
    const head = html('div', `${CSS}detailsHead`);
    head.append(
      html('span', undefined, 'details'),
      button(`${CSS}close`, '×', 'close details', () => this.setOpen(false))
    );
    this.content = html('div', `${CSS}detailsContent`);
    this.node.append(head, this.content);
  }

  /** Drags the left edge: the panel's width follows the pointer, within its bounds. */
  private onResizeStart = (event: PointerEvent): void => {
    if (event.button !== 0) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    const edge = event.currentTarget as HTMLElement;
    const startX = event.clientX;
    const startWidth = this.node.getBoundingClientRect().width;
    const body = this.node.parentElement?.clientWidth ?? startWidth / 0.4;
    this.node.classList.add(`${CSS}resizing`);
    const move = (e: PointerEvent) => {
      const width = detailsWidth(startWidth, e.clientX - startX, body);
      // Dragged by hand, the panel may take more than its default share of the view.
      this.node.style.maxWidth = `${MAX_DETAILS_SHARE * 100}%`;
      this.node.style.width = `${width}px`;
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      this.node.classList.remove(`${CSS}resizing`);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    edge.focus?.();
  };

  /** Shows or hides the panel; hiding empties it. */
  setOpen(open: boolean): void {
    this.node.hidden = !open;
    if (!open) {
      this.content.replaceChildren();
      delete this.node.dataset.node;
    }
  }

  /**
   * Opens the panel on a node: "loading…" until `details` settles, then its details (or the
   * error), unless another node was shown meanwhile.
   */
  show(nodeId: string, details: Promise<IDetails>, bodies: BodyLink[], enter: Enter): void {
    this.setOpen(true);
    this.node.dataset.node = nodeId;
    this.content.replaceChildren(html('div', `${CSS}loading`, 'loading…'));
    details.then(
      d => {
        if (this.node.dataset.node === nodeId) {
          // Two models' details side by side need more room than one's.
          this.node.classList.toggle(`${CSS}detailsWide`, !!d.diff);
          this.content.replaceChildren(renderDetails(d, bodies, enter, this.tensors));
        }
      },
      (error: unknown) => {
        if (this.node.dataset.node === nodeId) {
          const text = error instanceof Error ? error.message : String(error);
          this.content.replaceChildren(
            html('div', `${CSS}detailsOp`, nodeId),
            html('div', `${CSS}error`, text)
          );
        }
      }
    );
  }
}
