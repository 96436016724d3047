"""``wb.diff(a, b)``: what changed between two models, node by node, weight by weight, and in
the model's own fields (opsets, IR version, producer, signatures, metadata, external data)."""

from __future__ import annotations

import html
import os
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import onnx
import pandas as pd

from .. import _hooks
from ..comparison import compare
from ..errors import UsageError
from ..graph import write_html
from ..model import Model, as_model
from ..model.internal import attribute_values, external_info, format_attribute
from ..runtime import debug, random_inputs
from ._match import Matching, Side, match, with_defaults

if TYPE_CHECKING:
    from ..comparison import Report
    from ..widgets import GraphView
    from ._view import DiffIndex

#: A node's status, in the order tables and the card list them.
STATUSES = ("changed", "added", "removed", "fused", "qdq", "same")
#: What may change on a matched node.
FIELDS = ("attributes", "weights", "inputs", "types")
#: Ops whose second input lists axes, which may count from the end (``-1``) or not.
_AXES_INPUT = frozenset({"Squeeze", "Unsqueeze", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                         "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
#: The columns of :attr:`Diff.nodes`.
NODE_COLUMNS = ("a_id", "b_id", "status", "op_a", "op_b", "scope", "changes", "details", "matched_by")
#: The columns of :attr:`Diff.weights`.
WEIGHT_COLUMNS = ("a_name", "b_name", "status", "a_dtype", "b_dtype", "a_shape", "b_shape", "max_abs_diff",
                  "reader")
_CARD_ROWS = 10


class Diff:
    """Two models compared: ``nodes``, ``weights`` and ``metadata`` tables, a card, the graph of
    their union (:meth:`view`) and the numbers (:meth:`numeric`). Make one with :func:`diff`."""

    def __init__(self, a: Model, b: Model) -> None:
        self.a, self.b = a, b
        self.matching: Matching = match(a, b)

    # ---- labels --------------------------------------------------------------------------
    @cached_property
    def labels(self) -> tuple[str, str]:
        """How the card and the view name the two models: file names, else graph names, else a and b."""
        names = [_label(m, fallback) for m, fallback in ((self.a, "a"), (self.b, "b"))]
        return (names[0], names[1]) if names[0] != names[1] else ("a", "b")

    # ---- nodes ---------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per node of either model's main graph: ``a_id``, ``b_id`` (None on the side
        where it is absent), ``status`` (``same``, ``changed``, ``added``, ``removed``, ``fused``:
        a node of ``a`` that a fusion in ``b`` replaced, ``b_id`` the fused node; ``qdq``: a
        QuantizeLinear/DequantizeLinear inserted, on the side that has them), ``op_a``, ``op_b``,
        ``scope``, ``changes`` (which of attributes, weights, inputs, types differ), ``details``
        (each change in words) and ``matched_by`` (structure, neighbours, name or signature).

        Nodes computed from weights alone (Constants) are data: see :attr:`weights`.
        """
        found, a, b = self.matching, self.matching.a, self.matching.b
        rows = []
        for y in b.order:
            x = found.b_to_a.get(y)
            if y in found.fused:
                continue  # listed through the nodes of a it replaced
            if x is None and y in found.helpers:
                made_for = ", ".join(found.helpers[y])
                rows.append(self._row(None, y, "fused", [("fused", f"made for the fused {made_for}")]))
                continue
            if x is None:
                rows.append(self._row(None, y, "added"))
                continue
            changes = self.changes(x, y)
            rows.append(self._row(x, y, "changed" if changes else "same", changes, found.how[x]))
        rows.extend(self._row(None, y, "qdq") for y in sorted(b.qdq, key=_position(b)))
        for x in a.order:
            if x in found.folded:
                rows.append(self._row(x, found.folded[x], "fused"))
            elif x not in found.a_to_b:
                rows.append(self._row(x, None, "removed"))
        rows.extend(self._row(x, None, "qdq") for x in sorted(a.qdq, key=_position(a)))
        return pd.DataFrame(rows, columns=list(NODE_COLUMNS))

    def _row(self, x: str | None, y: str | None, status: str, changes: list[tuple[str, str]] | None = None,
             how: str | None = None) -> dict:
        a, b = self.matching.a, self.matching.b
        changes = changes or []
        scope = self.b.scope_path(y) if y is not None else self.a.scope_path(x) if x is not None else ""
        return {"a_id": x, "b_id": y, "status": status,
                "op_a": a.nodes[x].op_type if x is not None else None,
                "op_b": b.nodes[y].op_type if y is not None else None,
                "scope": scope, "changes": tuple(dict.fromkeys(f for f, _ in changes)),
                "details": "; ".join(text for _, text in changes), "matched_by": how}

    @cached_property
    def fused(self) -> dict[str, list[str]]:
        """Each fused node of ``b`` → the nodes of ``a`` it replaced."""
        return dict(self.matching.fused)

    def changes(self, x: str, y: str) -> list[tuple[str, str]]:
        """What differs between a's node ``x`` and its match ``y`` in b: ``(field, text)`` pairs.

        An input that now comes from an added node, or came from a removed one, is not a change
        of this node: the addition or removal explains it.
        """
        found, a, b = self.matching, self.matching.a, self.matching.b
        nx, ny = a.nodes[x], b.nodes[y]
        out: list[tuple[str, str]] = []
        if a.attributes(x) != b.attributes(y):
            va, vb = _attributes(nx, a.opsets), _attributes(ny, b.opsets)
            for name in sorted(set(va) | set(vb)):
                if va.get(name) != vb.get(name):
                    out.append(("attributes", f"{name}: {va.get(name, '(unset)')} → {vb.get(name, '(unset)')}"))
            if not any(f == "attributes" for f, _ in out):  # equal as text, not as values (a subgraph's insides)
                out.append(("attributes", "a graph attribute's body changed"))
        if len(nx.input) != len(ny.input):
            out.append(("inputs", f"{len(nx.input)} inputs → {len(ny.input)}"))
        for slot, (va_name, vb_name) in enumerate(found.inputs(x, y)):
            sa, sb = a.source(va_name), b.source(vb_name)
            if sa[0] == sb[0] == "weight":
                if sa[1] != sb[1] and not self._same_axes(x, y, slot, va_name, vb_name):
                    out.append(("weights", self._weight_change(va_name, vb_name)))
            elif sa[0] == sb[0] == "node":
                (px, ia), (py, ib) = sa[1], sb[1]
                if px in found.a_to_b and py in found.b_to_a and (found.a_to_b[px] != py or ia != ib):
                    out.append(("inputs", f"input {slot} comes from {py!r} (output {ib}), not from the match of "
                                          f"{px!r} (output {ia})"))
            elif sa[0] == sb[0]:
                if sa[1] != sb[1]:
                    out.append(("inputs", f"input {slot}: {va_name!r} → {vb_name!r}"))
            elif not (_from_unmatched(sa, found.a_to_b) or _from_unmatched(sb, found.b_to_a)):
                out.append(("inputs", f"input {slot}: a {sa[0]} ({va_name!r}) → a {sb[0]} ({vb_name!r})"))
        for index, (oa, ob) in enumerate(zip(nx.output, ny.output)):
            ta, tb = self.a.value_info(oa) if oa else ("", None), self.b.value_info(ob) if ob else ("", None)
            if ta[0] and tb[0] and not _same_type(ta, tb):
                out.append(("types", f"output {index}: {_type_text(ta)} → {_type_text(tb)}"))
        return out

    def _same_axes(self, x: str, y: str, slot: int, va: str, vb: str) -> bool:
        """Whether two axes inputs name the same axes, counted from the end or not (TorchScript's
        ``3`` and dynamo's ``-2`` on a rank-5 tensor), for the ops that take axes as an input."""
        a, b = self.matching.a, self.matching.b
        node = b.nodes[y]
        if slot != 1 or node.op_type not in _AXES_INPUT or node.domain not in ("", "ai.onnx"):
            return False
        # Unsqueeze's axes index its output; the others' their data input
        counted_a, counted_b = ((a.nodes[x].output[0], node.output[0]) if node.op_type == "Unsqueeze"
                                else (a.nodes[x].input[0], node.input[0]))
        # the rank where one side's shape inference knows it (a TorchScript export's often does not)
        ranks = {len(shape) for shape in (self.a.value_info(counted_a)[1], self.b.value_info(counted_b)[1])
                 if shape is not None}
        axes_a, axes_b = a.weight_array(a.through(va)), b.weight_array(b.through(vb))
        if len(ranks) != 1 or axes_a.dtype.kind not in "iu" or axes_b.dtype.kind not in "iu":
            return False
        rank = ranks.pop()
        if not rank:
            return False
        return sorted(int(v) % rank for v in axes_a.ravel()) == sorted(int(v) % rank for v in axes_b.ravel())

    def _weight_change(self, va: str, vb: str) -> str:
        wa, wb = self.matching.a.dequantized(va), self.matching.b.dequantized(vb)
        name = self.matching.b.through(vb)
        if wa is None or wb is None or not wa.size or not wb.size:
            return f"{name}: computed from other weights"
        if wa.shape != wb.shape:
            return f"{name}: shape {_shape_text(wa.shape)} → {_shape_text(wb.shape)}"
        return f"{name}: max |Δ| {_max_abs(wa, wb):.3g}"

    # ---- weights -------------------------------------------------------------------------
    @cached_property
    def weights(self) -> pd.DataFrame:
        """One row per weight read by either model's nodes, paired through the matched nodes
        reading them at the same input: ``a_name``, ``b_name``, ``status`` (``same``, ``changed``,
        ``added``, ``removed``), dtypes and shapes as stored, ``max_abs_diff`` (of the values they
        stand for: a quantized weight dequantized; NaN where shapes differ) and ``reader`` (b's
        node reading it, else a's)."""
        found, a, b = self.matching, self.matching.a, self.matching.b
        rows, seen_a, seen_b, pairs = [], set(), set(), set()
        for x, y in found.a_to_b.items():
            for slot, (va, vb) in enumerate(found.inputs(x, y)):
                wa, wb = a.through(va), b.through(vb)
                if wa not in a.fixed or wb not in b.fixed or (wa, wb) in pairs:
                    continue
                pairs.add((wa, wb))
                seen_a.add(wa)
                seen_b.add(wb)
                same = a.weight_key(wa) == b.weight_key(wb) or self._same_axes(x, y, slot, va, vb)
                arr_a, arr_b = (None, None) if same else (a.dequantized(va), b.dequantized(vb))
                rows.append(self._weight_row(wa, wb, "same" if same else "changed", y, arr_a, arr_b))
        for side, seen, status in ((b, seen_b, "added"), (a, seen_a, "removed")):
            for node_id in side.order:
                for value in side.nodes[node_id].input:
                    name = side.through(value)
                    if name in side.fixed and name not in seen:
                        seen.add(name)
                        only_a, only_b = (None, name) if status == "added" else (name, None)
                        rows.append(self._weight_row(only_a, only_b, status, node_id, None, None))
        return pd.DataFrame(rows, columns=list(WEIGHT_COLUMNS))

    def _weight_row(self, wa: str | None, wb: str | None, status: str, reader: str,
                    arr_a: np.ndarray | None, arr_b: np.ndarray | None) -> dict:
        a, b = self.matching.a, self.matching.b
        type_a = a.weight_type(wa) if wa is not None else (None, None)
        type_b = b.weight_type(wb) if wb is not None else (None, None)
        diff = 0.0 if status == "same" else np.nan
        if arr_a is not None and arr_b is not None and arr_a.size and arr_a.shape == arr_b.shape:
            diff = _max_abs(arr_a, arr_b)
        return {"a_name": wa, "b_name": wb, "status": status, "a_dtype": type_a[0], "b_dtype": type_b[0],
                "a_shape": type_a[1], "b_shape": type_b[1], "max_abs_diff": diff, "reader": reader}

    # ---- the model's own fields ---------------------------------------------------------------
    @cached_property
    def metadata(self) -> pd.DataFrame:
        """The model's own fields side by side: ``field``, ``a``, ``b``, ``same``. Fields: IR version,
        each opset import, producer, domain, model version, graph name, each input's and output's
        type (by position), each metadata property, and the external-data layout (files, bytes)."""
        rows = []
        pa, pb = self.a.proto, self.b.proto

        def add(field: str, va: Any, vb: Any) -> None:
            rows.append({"field": field, "a": va, "b": vb, "same": va == vb})

        add("ir_version", pa.ir_version, pb.ir_version)
        opsets_a = {(o.domain or "ai.onnx"): o.version for o in pa.opset_import}
        opsets_b = {(o.domain or "ai.onnx"): o.version for o in pb.opset_import}
        for domain in sorted(set(opsets_a) | set(opsets_b)):
            add(f"opset {domain}", opsets_a.get(domain), opsets_b.get(domain))
        add("producer", f"{pa.producer_name} {pa.producer_version}".strip(),
            f"{pb.producer_name} {pb.producer_version}".strip())
        add("domain", pa.domain, pb.domain)
        add("model_version", pa.model_version, pb.model_version)
        add("graph name", pa.graph.name, pb.graph.name)
        for kind, (sa, sb) in (("input", (self.matching.a.inputs, self.matching.b.inputs)),
                               ("output", (self.matching.a.outputs, self.matching.b.outputs))):
            names_a, names_b = list(sa), list(sb)
            for i in range(max(len(names_a), len(names_b))):
                add(f"{kind} {i}", _signature(self.a, names_a[i]) if i < len(names_a) else None,
                    _signature(self.b, names_b[i]) if i < len(names_b) else None)
        props_a = {p.key: p.value for p in pa.metadata_props}
        props_b = {p.key: p.value for p in pb.metadata_props}
        for key in sorted(set(props_a) | set(props_b)):
            add(f"metadata {key}", props_a.get(key), props_b.get(key))
        add("external data", _external_text(self.a), _external_text(self.b))
        return pd.DataFrame(rows, columns=["field", "a", "b", "same"])

    # ---- summaries ---------------------------------------------------------------------------
    @cached_property
    def counts(self) -> dict[str, int]:
        """How many nodes have each status (fused: nodes of a replaced; qdq: Q/DQ nodes)."""
        counted = Counter(self.nodes.status)
        return {status: int(counted.get(status, 0)) for status in STATUSES}

    @property
    def identical(self) -> bool:
        """Whether nothing differs: every node the same, every weight the same, every field the same."""
        return (self.counts["same"] == len(self.nodes) and bool((self.weights.status == "same").all())
                and bool(self.metadata.same.all()))

    def to_frame(self) -> pd.DataFrame:
        """Every difference as one table, for CI: ``kind`` (node, weight, metadata), ``a``, ``b``,
        ``status`` and ``what``. Empty when the models are the same."""
        nodes = self.nodes[self.nodes.status != "same"]
        weights = self.weights[self.weights.status != "same"]
        fields = self.metadata[~self.metadata.same]
        rows = [*({"kind": "node", "a": r.a_id, "b": r.b_id, "status": r.status,
                   "what": r.details or (r.op_b if pd.notna(r.op_b) else r.op_a)} for r in nodes.itertuples()),
                *({"kind": "weight", "a": r.a_name, "b": r.b_name, "status": r.status,
                   "what": _weight_what(r)} for r in weights.itertuples()),
                *({"kind": "metadata", "a": _text(r.a), "b": _text(r.b), "status": "changed", "what": r.field}
                  for r in fields.itertuples())]
        return pd.DataFrame(rows, columns=["kind", "a", "b", "status", "what"])

    def summary(self) -> str:
        """The diff in a few lines of text (what a CI log shows)."""
        counts = self.counts
        a_label, b_label = self.labels
        matched = counts["same"] + counts["changed"]
        lines = [f"{a_label} → {b_label}: {matched} nodes matched ({counts['same']} same, "
                 f"{counts['changed']} changed), {counts['added']} added, {counts['removed']} removed, "
                 f"{counts['fused']} fused into "
                 f"{len(self.fused)}, {counts['qdq']} Q/DQ"]
        weights = Counter(self.weights.status)
        lines.append(f"weights: {weights.get('same', 0)} same, {weights.get('changed', 0)} changed, "
                     f"{weights.get('added', 0)} added, {weights.get('removed', 0)} removed")
        for row in self.to_frame().itertuples():
            if row.kind == "metadata":
                lines.append(f"  {row.what}: {row.a} → {row.b}")
            elif row.kind == "node":
                lines.append(f"  {row.status:8} {row.b if pd.notna(row.b) else row.a}: {row.what}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def by_op(self) -> pd.DataFrame:
        """Changes per op type: one column per status (same excluded), rows with any change."""
        nodes = self.nodes.assign(op=self.nodes.op_b.fillna(self.nodes.op_a))
        table = pd.crosstab(nodes.op, nodes.status).reindex(columns=[s for s in STATUSES if s != "same"], fill_value=0)
        return table[table.sum(axis=1) > 0].sort_values(list(table.columns), ascending=False)

    def by_scope(self) -> pd.DataFrame:
        """Changes per scope (the top level under which they sit), same layout as :meth:`by_op`."""
        nodes = self.nodes.assign(top=self.nodes.scope.fillna("").map(lambda s: s.split("/")[0] or "(root)"))
        table = pd.crosstab(nodes.top, nodes.status).reindex(columns=[s for s in STATUSES if s != "same"],
                                                             fill_value=0)
        return table[table.sum(axis=1) > 0].sort_values(list(table.columns), ascending=False)

    def _repr_html_(self) -> str:
        e = html.escape
        a_label, b_label = self.labels
        counts = self.counts
        cells = "".join(f"<td style='padding:0 8px'><b>{counts[s]}</b> {e(s)}</td>" for s in STATUSES if counts[s])
        parts = [f"<div><h4>{e(a_label)} → {e(b_label)}</h4><table><tr>{cells}</tr></table>"]
        for title, table in (("by op", self.by_op()), ("by scope", self.by_scope())):
            if len(table):
                parts.append(f"<h5>{title}</h5>" + table.head(_CARD_ROWS).to_html(escape=True))
        fields = self.metadata[~self.metadata.same]
        if len(fields):
            parts.append("<h5>model fields</h5>" + fields.to_html(index=False, escape=True))
        weights = self.weights[self.weights.status != "same"]
        if len(weights):
            parts.append(f"<h5>weights ({len(weights)} differ)</h5>"
                         + weights.head(_CARD_ROWS).to_html(index=False, escape=True))
        return "".join(parts) + "</div>"

    # ---- view and numbers ---------------------------------------------------------------------
    @cached_property
    def view_index(self) -> "DiffIndex":
        """The graph of the union of both models, coloured by status (see :meth:`view`)."""
        from ._view import DiffIndex

        return DiffIndex(self)

    def view(self, *, height: int = 560) -> "GraphView":
        """One graph view of both models: b's nodes and a's removed ones, coloured added (green),
        removed (red), changed (amber), fused (blue), Q/DQ (violet), same (grey); a folded group
        counts the changes it holds; a click on a node shows both sides' details."""
        return _hooks.call("graph_view", self.view_index, height)

    def to_html(self, path: str | os.PathLike) -> Path:
        """Writes the diff as ONE self-contained HTML file (``.html``, no network): the union
        view coloured by status, as :meth:`view` draws it, beside the nodes that differ, where a
        click on a row selects the node. Returns the path."""
        index = self.view_index
        changed = self.nodes[self.nodes.status != "same"]
        in_view = [index.drawn_as(x if pd.notna(x) else None, y if pd.notna(y) else None)
                   for x, y in zip(changed.a_id, changed.b_id)]
        table = changed.assign(view_id=in_view)[["view_id", "status", "op_a", "op_b", "scope", "changes", "a_id",
                                                 "b_id"]]
        a_label, b_label = self.labels
        return write_html(path, index, table=table, table_title=f"{a_label} → {b_label}: what differs",
                          node_column="view_id")

    def numeric(self, inputs: Mapping[str, Any] | None = None, *, rtol: float = 1e-4, atol: float = 1e-5,
                provider: str = "cpu") -> "Report":
        """Runs both models on ``inputs`` (default: random inputs that fit ``b``) and compares b's
        values with a's through the matched nodes (``wb.compare``'s report, ``b`` the candidate).
        Its table gains ``diff_status`` (the b node's status here) and ``diff_details``: the root cause's
        row says whether the numbers moved at a structural change (``changed``, ``fused``…) or at
        a node that is the same in both (then upstream changes carried it there)."""
        b_inputs = self.matching.b.inputs
        feeds = dict(random_inputs(self.b) if inputs is None else inputs)
        a_feeds = {}
        for name, position in self.matching.a.inputs.items():
            mate = name if name in feeds else next((n for n, p in b_inputs.items() if p == position), None)
            if mate is None or mate not in feeds:
                raise UsageError(f"No input for a's {name!r}: name the inputs as b does ({sorted(b_inputs)}).")
            a_feeds[name] = feeds[mate]
        run_a = debug(self.a, a_feeds, provider=provider)
        values = {}
        fixed = self.matching.a.fixed
        for b_name, a_name in self.value_map().items():
            value = run_a.get(a_name)
            if a_name in fixed:
                array = self.matching.a.weight_array(a_name) if value is None else np.asarray(value)
                if array.dtype.kind not in "fc" or not array.size:
                    continue  # axes, shapes, indices: written another way is not wrong (3 and -2 on rank 5)
                value = array
            if value is not None:
                values[b_name] = value
        report = compare(values, feeds, onnx=self.b, provider=provider, rtol=rtol, atol=atol)
        by_b = self.nodes.dropna(subset=["b_id"]).drop_duplicates("b_id").set_index("b_id")
        report.table["diff_status"] = report.table.node.map(by_b.status).fillna("added")
        report.table["diff_details"] = report.table.node.map(by_b.details).fillna("")
        return report

    def value_map(self) -> dict[str, str]:
        """b's value names → the a values they stand for: matched nodes' outputs, position by
        position, and what their inputs read where both sides read the same thing (a Q/DQ pair's
        output stands for the value it quantizes)."""
        found, a, b = self.matching, self.matching.a, self.matching.b
        names = {}
        for name, position in a.inputs.items():
            mate = name if name in b.inputs else next((n for n, p in b.inputs.items() if p == position), None)
            if mate is not None:
                names[mate] = name
        for x, y in found.a_to_b.items():
            nx, ny = a.nodes[x], b.nodes[y]
            for oa, ob in zip(nx.output, ny.output):
                if oa and ob:
                    names[ob] = oa
            for va, vb in found.inputs(x, y):
                sa, sb = a.source(va), b.source(vb)
                if va and vb and sa[0] == sb[0] and (sa[0] != "node" or found.a_to_b.get(sa[1][0]) == sb[1][0]):
                    names.setdefault(vb, a.through(va))
        return names


def diff(a: Any, b: Any) -> Diff:
    """What changed from model ``a`` to model ``b`` (each a path, a :class:`workbench.Model`, an
    ``onnx.ModelProto`` or a ``torch.onnx.ONNXProgram``).

    >>> import workbench as wb
    >>> d = wb.diff(wb.samples.proto("tiny_cnn"), wb.samples.proto("tiny_cnn"))
    >>> d.counts["same"] == len(d.nodes)
    True
    """
    return Diff(as_model(a), as_model(b))


# ---- small helpers -------------------------------------------------------------------------
def _label(model: Model, fallback: str) -> str:
    return model.path.name if model.path is not None else (model.name or fallback)


def _position(side: Side) -> Any:
    order = {node_id: i for i, node_id in enumerate(side.nodes)}
    return order.__getitem__


def _attributes(node: onnx.NodeProto, opsets: dict[str, int]) -> dict[str, str]:
    """Each attribute as text, defaults filled in."""
    values = attribute_values(node)
    attributes = with_defaults(node, opsets)
    values.update((a.name, onnx.helper.get_attribute_value(a)) for a in attributes if a.name not in values)
    return {attr.name: format_attribute(attr, values, node) for attr in attributes}


def _from_unmatched(source: tuple[str, Any], matched: Mapping[str, str]) -> bool:
    """Whether an input comes from a node without a match (added or removed): a rewiring it explains."""
    return source[0] == "node" and source[1][0] not in matched


def _same_type(ta: tuple[str, Any], tb: tuple[str, Any]) -> bool:
    """One element type and shape; two symbolic dims are alike whatever their names (exporters and
    shape inference name them as they go: ``batch``, ``s0``, ``unk__3``); an unknown shape is
    alike any."""
    if ta[0] != tb[0]:
        return False
    if ta[1] is None or tb[1] is None:
        return True
    return len(ta[1]) == len(tb[1]) and all(
        da == db or (not isinstance(da, int) and not isinstance(db, int)) for da, db in zip(ta[1], tb[1]))


def _type_text(value_type: tuple[str, Any]) -> str:
    dtype, shape = value_type
    return dtype if shape is None else f"{dtype} {_shape_text(shape)}"


def _shape_text(shape: Any) -> str:
    return "×".join(str(d) if d is not None else "?" for d in shape) or "scalar"


def _max_abs(wa: np.ndarray, wb: np.ndarray) -> float:
    if wa.dtype.kind not in "biuf" or wb.dtype.kind not in "biuf":
        return 0.0 if np.array_equal(wa, wb) else np.inf
    return float(np.max(np.abs(wa.astype(np.float64) - wb.astype(np.float64)), initial=0.0))


def _signature(model: Model, name: str) -> str:
    return f"{name}: {_type_text(model.value_info(name))}"


def _external_text(model: Model) -> str:
    external = [t for t in model.proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return "none"
    files = sorted({external_info(t).get("location", "?") for t in external})
    return f"{len(external)} tensors in {', '.join(files)}"


def _weight_what(row: Any) -> str:
    if row.status in ("added", "removed"):
        return f"read by {row.reader}"
    if row.a_shape != row.b_shape:
        return f"shape {row.a_shape} → {row.b_shape}"
    dtypes = f"{row.a_dtype} → {row.b_dtype}; " if row.a_dtype != row.b_dtype else ""
    return f"{dtypes}max |Δ| {row.max_abs_diff:.3g}"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
