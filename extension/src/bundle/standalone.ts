/**
 * The graph view with no kernel and no server: an HTML file written by `to_html()` in Python,
 * or the HTML form of a notebook output (what `nbconvert --to html` keeps). Each such block
 * holds its view in a `<script type="application/vnd.onnx-workbench.standalone">`: JSON,
 * gzip-compressed and base64-encoded (docs/view-schema.md, "Standalone"). The payload is
 * complete (every group, every node's details), so the viewer needs no source; a table
 * (a compare report's rows, a profile's nodes, a diff's changes) may sit beside the graph,
 * its rows selecting their node.
 */
import { viewerSettings } from '../preferences';
import { ISummary, renderSummary } from '../summary';
import { GraphViewer, IViewPayload } from '../view';
import { CSS } from '../view/css';
import { themeless } from './theme';

/** The MIME type of the data script (`STANDALONE_MIME_TYPE` in Python too). */
export const STANDALONE_MIME_TYPE = 'application/vnd.onnx-workbench.standalone';

/** What a view shows in a group its payload does not hold (an output of a large model). */
const MISSING_GROUP_TEXT = 'not in this saved view — write the whole view with to_html()';

/** A table shown beside the graph; the cells are plain values, written as text. */
export interface IStandaloneTable {
  title: string;
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
  /** The column holding each row's node id (a click selects that node), or null. */
  node: number | null;
}

/** What a standalone block carries. */
export interface IStandaloneData {
  standalone: 1;
  payload: IViewPayload;
  table: IStandaloneTable | null;
}

/** Draws every standalone block of the page not drawn yet; returns how many it started. */
export function mountAll(root: ParentNode = document): number {
  const blocks = Array.from(
    root.querySelectorAll<HTMLElement>(`.${CSS}standalone:not([data-mounted])`)
  );
  for (const block of blocks) {
    block.dataset.mounted = 'true';
    mount(block).catch((error: unknown) => {
      const note = document.createElement('p');
      note.className = `${CSS}standaloneError`;
      note.textContent = `The interactive view could not be drawn here: ${String(error)}`;
      block.prepend(note);
    });
  }
  return blocks.length;
}

/** Draws one block in place of its static fallback (the fallback stays if the data is unreadable). */
export async function mount(block: HTMLElement): Promise<GraphViewer> {
  const script = block.querySelector(`script[type="${STANDALONE_MIME_TYPE}"]`);
  if (!script?.textContent) {
    throw new Error('the block carries no view data.');
  }
  const data = JSON.parse(await gunzipBase64(script.textContent)) as IStandaloneData;
  if (data.standalone !== 1) {
    throw new Error(`unknown standalone data version ${JSON.stringify(data.standalone)}.`);
  }
  return draw(block, data);
}

/** Draws `data` in `block`, in place of what it holds (its data script is kept). */
export async function draw(block: HTMLElement, data: IStandaloneData): Promise<GraphViewer> {
  themeless(block);
  const parts: HTMLElement[] = [];
  if (data.payload.summary) {
    parts.push(renderSummary(data.payload.summary as unknown as ISummary));
  }
  const body = document.createElement('div');
  body.className = `${CSS}standaloneBody`;
  const box = document.createElement('div');
  box.className = `${CSS}graphBox`;
  const host = document.createElement('div');
  box.appendChild(host);
  body.appendChild(box);
  parts.push(body);
  const kept = Array.from(block.querySelectorAll(`script[type="${STANDALONE_MIME_TYPE}"]`));
  block.replaceChildren(...parts, ...kept);
  const viewer = new GraphViewer(
    host,
    data.payload,
    null,
    {},
    {
      missingGroupText: MISSING_GROUP_TEXT,
      ...viewerSettings()
    }
  );
  if (data.table) {
    body.appendChild(renderTable(data.table, viewer));
  }
  await viewer.ready;
  const selected = data.payload.selected ?? [];
  if (selected.length) {
    await viewer.showNode(selected[0]);
  }
  return viewer;
}

/** The table beside the graph: each row with a node selects it and brings it into view. */
function renderTable(table: IStandaloneTable, viewer: GraphViewer): HTMLElement {
  const panel = document.createElement('div');
  panel.className = `${CSS}standaloneTable`;
  const title = document.createElement('div');
  title.className = `${CSS}title`;
  title.textContent = table.title;
  const element = document.createElement('table');
  const head = element.createTHead().insertRow();
  for (const column of table.columns) {
    const cell = document.createElement('th');
    cell.textContent = column;
    head.appendChild(cell);
  }
  const rows = element.createTBody();
  for (const values of table.rows) {
    const row = rows.insertRow();
    for (const value of values) {
      row.insertCell().textContent = formatCell(value);
    }
    const nodeId = table.node === null ? null : values[table.node];
    if (typeof nodeId === 'string' && nodeId) {
      row.dataset.node = nodeId;
      row.addEventListener('click', () => {
        rows.querySelector(`.${CSS}picked`)?.classList.remove(`${CSS}picked`);
        row.classList.add(`${CSS}picked`);
        void viewer.select([nodeId]).then(() => viewer.showNode(nodeId));
      });
    }
  }
  panel.append(title, element);
  return panel;
}

/** A cell's text: numbers to four significant digits, nothing for null. */
function formatCell(value: string | number | boolean | null): string {
  if (value === null) {
    return '';
  }
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return Number.isFinite(value) ? value.toPrecision(4) : String(value);
  }
  return String(value);
}

/** Decodes base64 text and inflates the gzip data inside it to a string. */
async function gunzipBase64(text: string): Promise<string> {
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}
