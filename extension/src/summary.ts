/**
 * Renders a model summary (the `summary` field of the graph view payload,
 * docs/summary-schema.md) as a DOM card.
 *
 * This module knows nothing about JupyterLab: it takes plain data and returns
 * an element, so the MIME renderer, the file viewer and widgets can share it.
 * Every string in the payload comes from the model and is untrusted: it only
 * ever reaches the DOM through `textContent`, never through `innerHTML`.
 */

import { html } from './view/dom';

/** The version of the summary payload this renderer understands. */
export const SUMMARY_SCHEMA_VERSION = 1;

/** One graph input or output. */
export interface IValueInfo {
  name: string;
  dtype: string;
  shape: Array<number | string | null> | null;
}

/** The summary payload; see `docs/summary-schema.md`. */
export interface ISummary {
  schema_version: number;
  name: string;
  producer: string;
  ir_version: number;
  opsets: Record<string, number>;
  inputs: IValueInfo[];
  outputs: IValueInfo[];
  node_count: number;
  parameter_count: number;
  parameter_bytes: number;
  model_bytes: number | null;
  top_ops: Array<[string, number]>;
  subgraphs: string[];
  functions: string[];
  problems: string[];
  /** The model's doc string, cut to 500 characters (absent before it was added). */
  description?: string;
  /** The model's metadata properties as [key, value], values cut to 200 characters. */
  metadata?: Array<[string, string]>;
}

/** Formats a count with thousands separators, e.g. 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Formats a byte count with a binary unit, e.g. 2048 -> "2.0 KiB". */
export function formatBytes(n: number | null): string {
  if (n === null || n === undefined) {
    return '—';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatShape(shape: IValueInfo['shape']): string {
  if (shape === null) {
    return '?';
  }
  return `[${shape.map(d => (d === null ? '?' : String(d))).join(', ')}]`;
}

function valueTable(title: string, values: IValueInfo[]): HTMLElement {
  const section = html('div', 'jp-OnnxWorkbench-section');
  section.appendChild(html('h4', undefined, `${title} (${values.length})`));
  const table = html('table', 'jp-OnnxWorkbench-values');
  for (const v of values) {
    const row = html('tr');
    row.appendChild(html('td', 'jp-OnnxWorkbench-name', v.name));
    row.appendChild(html('td', undefined, v.dtype));
    row.appendChild(html('td', undefined, formatShape(v.shape)));
    table.appendChild(row);
  }
  section.appendChild(table);
  return section;
}

/** Builds the summary card element for a payload. */
export function renderSummary(summary: ISummary): HTMLElement {
  const card = html('div', 'jp-OnnxWorkbench-summary');
  if (summary.schema_version !== SUMMARY_SCHEMA_VERSION) {
    card.appendChild(
      html(
        'div',
        'jp-OnnxWorkbench-problem',
        `This summary uses schema version ${summary.schema_version}, but the ` +
          `installed extension reads version ${SUMMARY_SCHEMA_VERSION}. ` +
          'Reinstall onnx-workbench so Python and the extension match.'
      )
    );
    return card;
  }
  card.appendChild(html('div', 'jp-OnnxWorkbench-title', summary.name || '(unnamed model)'));
  if (summary.description) {
    card.appendChild(html('div', 'jp-OnnxWorkbench-description', summary.description));
  }
  const opsets = Object.entries(summary.opsets)
    .map(([domain, version]) => `${domain || 'ai.onnx'} ${version}`)
    .join(', ');
  const facts: Array<[string, string]> = [
    ['producer', summary.producer || '—'],
    ['IR version', String(summary.ir_version)],
    ['opsets', opsets],
    ['nodes', formatCount(summary.node_count)],
    [
      'parameters',
      `${formatCount(summary.parameter_count)} (${formatBytes(summary.parameter_bytes)})`
    ],
    ['model size', formatBytes(summary.model_bytes)]
  ];
  const dl = html('dl', 'jp-OnnxWorkbench-facts');
  for (const [key, value] of facts) {
    dl.appendChild(html('dt', undefined, key));
    dl.appendChild(html('dd', undefined, value));
  }
  card.appendChild(dl);
  card.appendChild(valueTable('inputs', summary.inputs));
  card.appendChild(valueTable('outputs', summary.outputs));

  const ops = html('div', 'jp-OnnxWorkbench-section');
  ops.appendChild(html('h4', undefined, 'top op types'));
  const bars = html('table', 'jp-OnnxWorkbench-ops');
  const most = summary.top_ops.length ? summary.top_ops[0][1] : 1;
  for (const [op, count] of summary.top_ops) {
    const row = html('tr');
    row.appendChild(html('td', 'jp-OnnxWorkbench-name', op));
    row.appendChild(html('td', undefined, formatCount(count)));
    const barCell = html('td');
    const bar = html('div', 'jp-OnnxWorkbench-bar');
    bar.style.width = `${Math.max(2, Math.round((100 * count) / most))}px`;
    barCell.appendChild(bar);
    row.appendChild(barCell);
    bars.appendChild(row);
  }
  ops.appendChild(bars);
  card.appendChild(ops);

  for (const [title, items] of [
    ['subgraphs', summary.subgraphs],
    ['local functions', summary.functions]
  ] as Array<[string, string[]]>) {
    if (items.length) {
      const section = html('div', 'jp-OnnxWorkbench-section');
      section.appendChild(html('h4', undefined, `${title} (${items.length})`));
      const list = html('ul');
      for (const item of items) {
        list.appendChild(html('li', undefined, item));
      }
      section.appendChild(list);
      card.appendChild(section);
    }
  }
  const metadata = summary.metadata ?? [];
  if (metadata.length) {
    const section = html('div', 'jp-OnnxWorkbench-section');
    section.appendChild(html('h4', undefined, `metadata (${metadata.length})`));
    const props = html('table', 'jp-OnnxWorkbench-metadata');
    for (const [key, value] of metadata) {
      const row = html('tr');
      row.appendChild(html('th', undefined, key));
      row.appendChild(html('td', undefined, value));
      props.appendChild(row);
    }
    section.appendChild(props);
    card.appendChild(section);
  }
  for (const problem of summary.problems) {
    card.appendChild(html('div', 'jp-OnnxWorkbench-problem', problem));
  }
  return card;
}
