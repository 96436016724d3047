/**
 * Types of the graph view JSON (schema version 1, see docs/view-schema.md) and the
 * interface through which a viewer asks for the parts a payload does not contain.
 * Nothing in src/view/ imports JupyterLab.
 */

export const VIEW_SCHEMA_VERSION = 1;

export type GroupKind = 'graph' | 'scope' | 'repeat' | 'split' | 'subgraph' | 'function';

export interface INodeItem {
  kind: 'node';
  id: string;
  node: string;
  label: string;
  op: string;
  domain: string;
  weights?: IWeight[];
  graphs?: [string, string][];
}

/**
 * A weight folded into its reader: [name, shape, role in the op schema ("" where unknown),
 * value as text where it is small].
 */
export type IWeight = [string, string, string?, string?];

export interface IGroupItem {
  kind: 'group';
  id: string;
  group: string;
  label: string;
  nodes: number;
  repeat?: number;
}

export interface IValueItem {
  kind: 'input' | 'output';
  id: string;
  label: string;
  dtype: string;
  shape: string;
}

export interface IRefItem {
  kind: 'ref';
  id: string;
  node: string;
  label: string;
}

export type Item = INodeItem | IGroupItem | IValueItem | IRefItem;

/** [from item index, to item index, label] */
export type Edge = [number, number, string];

export interface IGroup {
  id: string;
  label: string;
  kind: GroupKind;
  parent: string | null;
  path: string;
  nodes: number;
  items: Item[];
  edges: Edge[];
}

export interface IValueDetails {
  name: string;
  /** The input's or output's name in the op schema (`X`, `W`, `B`), "" where unknown. */
  role?: string;
  dtype: string;
  shape: string;
  kind: 'value' | 'initializer' | 'input' | 'constant';
  stats?: { min: number; max: number; mean: number; std: number };
}

/** An operator's documentation, from onnx's schemas. */
export interface IOperatorDoc {
  op: string;
  domain: string;
  since: number;
  summary: string;
  /** [name, type, description] */
  inputs: [string, string, string][];
  outputs: [string, string, string][];
  /** [name, description] */
  attributes: [string, string][];
}

export interface IDetails {
  id: string;
  name: string;
  op: string;
  domain: string;
  scope: string;
  attributes: [string, string][];
  inputs: IValueDetails[];
  outputs: IValueDetails[];
  flops: number | null;
  params: number;
  doc: string | null;
  stack: string | null;
  /** The operator's documentation; null for ops onnx does not define (custom domains). */
  operator?: IOperatorDoc | null;
  /** How the node differs between the two models, in a model diff's view. */
  diff?: IDiffDetails;
}

/**
 * A node's status in a model diff: only in b (`added`), only in a (`removed`), matched but
 * different (`changed`), a b node that replaces several a nodes (`fused`), a Quantize- or
 * DequantizeLinear that quantization inserted (`qdq`), or the same in both.
 */
export type DiffStatus = 'same' | 'changed' | 'added' | 'removed' | 'fused' | 'qdq';

/** A status other than `same`: what a group's counts count. */
export type ChangeStatus = Exclude<DiffStatus, 'same'>;

/** A node's diff in its details: its ids in a and b, what differs, and each side's details. */
export interface IDiffDetails {
  status: DiffStatus;
  a: string | null;
  b: string | null;
  /** [field, text]: `["attributes", "alpha: 0.1 → 0.2"]`; empty for `same`. */
  changes: [string, string][];
  /** The node's ordinary details in each model; null where it is not in that model. */
  sides: { a: IDetails | null; b: IDetails | null };
}

/** A numeric overlay: nodes and groups coloured on a sequential scale from `min` to `max`. */
export interface IScaleOverlay {
  kind?: undefined;
  label: string;
  values: { [id: string]: number };
  min: number;
  max: number;
}

/** A model diff's overlay: each node's status, and per group how many nodes inside changed. */
export interface IDiffOverlay {
  kind: 'diff';
  label: string;
  values: { [nodeId: string]: DiffStatus };
  /** Per group, its nodes (at any depth) of each status but `same`; groups with none are absent. */
  counts: { [groupId: string]: Partial<Record<ChangeStatus, number>> };
}

export type IOverlay = IScaleOverlay | IDiffOverlay;

/** A mark drawn on a model node: a badge at its left edge. */
export type NodeMark = 'breakpoint';

export interface IViewPayload {
  schema: number;
  title: string;
  summary: { [key: string]: unknown } | null;
  root: string;
  groups: { [id: string]: IGroup };
  details?: { [id: string]: IDetails };
  complete: boolean;
  expanded?: string[];
  overlay?: IOverlay | null;
  selected?: string[];
  highlighted?: string[];
  /** Marks drawn on nodes, by model node id (the widget's `marks`). */
  marks?: { [nodeId: string]: NodeMark };
}

/**
 * Where a viewer gets groups and node details that its payload lacks:
 * the kernel (widget messages) or the Jupyter server route (file viewer).
 * A payload with `complete: true` needs none.
 */
export interface IViewSource {
  group(id: string): Promise<IGroup>;
  details(nodeId: string): Promise<IDetails>;
  /** Searches the whole model, loaded here or not (docs/view-schema.md, SearchResult). */
  search?(query: string): Promise<ISearchAnswer>;
  /** A weight's values, or a slice of them (`0, :, 1:3`); with `npy`, also as a `.npy` file. */
  tensor?(name: string, index: string, npy: boolean): Promise<ITensorView>;
}

/** A weight (or a slice of it) as the tensor viewer shows it (docs/view-schema.md, Tensor). */
export interface ITensorView {
  name: string;
  dtype: string;
  shape: string;
  index: string;
  view_shape: string;
  /** numpy's print of the values, summarised beyond 1,000 of them. */
  text: string;
  stats?: { min: number | null; max: number | null; mean: number | null; std: number | null };
  /** The slice as a `.npy` file, base64, when asked for. */
  npy?: string;
}

/** A source's search over the whole model. */
export interface ISearchAnswer {
  query: string;
  /** Each hit: the item, the group holding it and that group's chain from its graph's root. */
  hits: Array<{ item: string; group: string; chain: string[] }>;
  /** Every match, counted (hits stop at a limit). */
  total: number;
  /** Why the regular expression is malformed, else null. */
  error: string | null;
}

/** What the viewer tells its host: the glue forwards these to the widget model. */
export interface IViewerCallbacks {
  /** The user's selection changed (model node ids). */
  selectionChanged?(nodeIds: string[]): void;
  /** The set of expanded groups changed. */
  expandedChanged?(groupIds: string[]): void;
  /**
   * The user asked to toggle the breakpoint of a node: a click on its left edge or its
   * badge, or `b` on the selected node. Only while breakpoint clicks are enabled
   * (`GraphViewer.setBreakpointClicks`); the host answers with `setMarks`.
   */
  breakpointToggled?(nodeId: string): void;
}
