"""The graph of a diff: one model holding b's nodes and the nodes a had that b lost, drawn by
the ordinary view, with each node's status as a categorical overlay (``docs/view-schema.md``).

The union is b's main graph, each node named by its id in b (so the union's ids are b's), with
each removed node of a inserted after the last node it follows in a that b kept, named
``a:<its id in a>``; its inputs are read from b's values where a's were matched, its outputs
renamed ``a:<name>``, and the weights only it reads copied in under ``a:<name>``. Nodes of a
that a fusion replaced are not drawn: the fused node stands for them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Callable, Iterable

import onnx
from onnx import numpy_helper

from ..graph import ViewIndex
from ..model import Model
from ..model.internal import NodeScope, open_unchecked

if TYPE_CHECKING:
    from ._diff import Diff

#: The prefix of a's removed nodes, values and weights in the union.
A_PREFIX = "a:"


class DiffIndex(ViewIndex):
    """The view of a :class:`~workbench.diffing.Diff`: the union's groups, its nodes' details with
    both sides' (``details(id)["diff"]``), and the status overlay in every payload."""

    def __init__(self, diff: "Diff") -> None:
        self.diff = diff
        union, self.statuses, self.sides = _union(diff)
        self._drawn: dict[tuple[str, str | None], str] | None = None  # see drawn_as
        super().__init__(union)

    def drawn_as(self, a_id: str | None, b_id: str | None) -> str | None:
        """The union node that stands for a row of ``Diff.nodes`` (its ids in a and b, either
        missing), or None where the view draws none (a node folded into a constant)."""
        if self._drawn is None:
            self._drawn = {}
            for union_id, (x, y) in self.sides.items():
                self._drawn[("b", y) if y is not None else ("a", x)] = union_id
        return self._drawn.get(("b", b_id) if b_id is not None else ("a", a_id))

    def status_overlay(self) -> dict:
        """The categorical overlay: each node's status, and per group the changes inside it."""
        counts: dict[str, Counter] = defaultdict(Counter)
        for node_id, status in self.statuses.items():
            if status != "same":
                for gid in self.ancestors(node_id)[1:]:
                    counts[gid][status] += 1
        a_label, b_label = self.diff.labels
        return {"kind": "diff", "label": f"{a_label} → {b_label}", "values": dict(self.statuses),
                "counts": {gid: dict(c) for gid, c in counts.items()}}

    def payload(self, *, budget: int = 2_000_000, expanded: Iterable[str] | None = None,
                overlay: dict | None = None, selected: Iterable[str] = (),
                highlighted: Iterable[str] = ()) -> dict:
        """The union's payload (see :meth:`ViewIndex.payload`), titled ``a ↔ b``, with the status overlay."""
        found = super().payload(budget=budget, expanded=expanded, overlay=overlay or self.status_overlay(),
                                selected=selected, highlighted=highlighted)
        a_label, b_label = self.diff.labels
        return {**found, "title": f"{a_label} ↔ {b_label}", "summary": None}

    def details(self, node_id: str) -> dict:
        """The union node's details, with ``diff``: its status, its ids in a and b, what changed,
        and each side's own details."""
        found = super().details(node_id)
        if "diff" in found or node_id not in self.sides:
            return found
        x, y = self.sides[node_id]
        changes = self.diff.changes(x, y) if x is not None and y is not None else []
        found["diff"] = {
            "status": self.statuses.get(node_id, "same"), "a": x, "b": y,
            "changes": [[field, text] for field, text in changes],
            "sides": {"a": self.diff.a.view_index.details(x) if x is not None else None,
                      "b": self.diff.b.view_index.details(y) if y is not None else None},
        }
        return found

    def tensor(self, name: str, index: str = "", npy: bool = False) -> dict:
        """A weight's values (see :meth:`ViewIndex.tensor`): b's by their names, as the union holds
        them; a's asked for as ``a:<name>``, read from a."""
        if name.startswith(A_PREFIX):
            return self.diff.a.view_index.tensor(name[len(A_PREFIX):], index, npy)
        return super().tensor(name, index, npy)


def _union(diff: "Diff") -> tuple[Model, dict[str, str], dict[str, tuple[str | None, str | None]]]:
    """The union model, each drawn node's status, and its ids in a and b."""
    found, a, b = diff.matching, diff.matching.a, diff.matching.b
    statuses: dict[str, str] = {}
    sides: dict[str, tuple[str | None, str | None]] = {}
    rows = diff.nodes
    status_of_b = dict(zip(rows.b_id, rows.status))
    removed = {x for x in a.order if x not in found.a_to_b and x not in found.folded}
    # each removed node goes after the last node before it in a that b kept (or at the start)
    after: dict[str | None, list[str]] = defaultdict(list)
    anchor: str | None = None
    for x in a.nodes:
        if x in found.a_to_b:
            anchor = found.a_to_b[x]
        elif x in removed:
            after[anchor].append(x)

    proto = onnx.ModelProto()
    _copy_header(proto, b.model.proto, a.model.proto)
    graph = proto.graph
    graph.input.extend(b.model.proto.graph.input)
    graph.output.extend(b.model.proto.graph.output)
    graph.initializer.extend(b.model.proto.graph.initializer)
    graph.value_info.extend(b.model.proto.graph.value_info)
    renamed = _renamer(diff)
    a_graph = a.model.proto.graph
    a_types = {v.name: v for v in (*a_graph.value_info, *a_graph.output)}
    added_weights: set[str] = set()
    scopes: dict[str, NodeScope] = {}

    def add_removed(x: str) -> None:
        node = onnx.NodeProto()
        node.CopyFrom(a.nodes[x])
        node.name = A_PREFIX + x
        del node.input[:]
        for value in a.nodes[x].input:
            name = renamed(value)
            source = a.through(value)
            if name.startswith(A_PREFIX) and source in a.fixed and name not in added_weights:
                array = a.weight_array(source)
                if array.size or source in a.model.initializers:
                    graph.initializer.append(numpy_helper.from_array(array, name))
                    added_weights.add(name)
            node.input.append(name)
        del node.output[:]
        node.output.extend(A_PREFIX + o if o else "" for o in a.nodes[x].output)
        for o in a.nodes[x].output:
            if o in a_types:
                info = graph.value_info.add()
                info.CopyFrom(a_types[o])
                info.name = A_PREFIX + o
        graph.node.append(node)
        statuses[node.name], sides[node.name] = "removed", (x, None)
        scope = diff.a.node_scopes[x]
        scopes[node.name] = scope if scope.path is not None else NodeScope(None, "none")

    for x in after[None]:
        add_removed(x)
    for record in b.model.records:
        if record.parent is not None:
            continue
        node = graph.node.add()
        node.CopyFrom(record.node)
        node.name = record.id
        y = record.id
        if y in b.nodes:
            statuses[y] = "qdq" if y in b.qdq else "fused" if y in found.fused else status_of_b.get(y, "same")
            sides[y] = (found.b_to_a.get(y), y)
        scopes[y] = diff.b.node_scopes[y]
        for x in after.get(y, ()):
            add_removed(x)
    union = open_unchecked(proto, b.model.path)
    return union.with_scopes(scopes), statuses, sides


def _copy_header(proto: onnx.ModelProto, b: onnx.ModelProto, a: onnx.ModelProto) -> None:
    """b's model fields, with the opsets of both (the higher version of a domain both import)
    and b's functions, then a's that b lacks."""
    proto.ir_version = max(a.ir_version, b.ir_version)
    proto.producer_name, proto.producer_version, proto.graph.name = b.producer_name, b.producer_version, b.graph.name
    versions: dict[str, int] = {}
    for entry in (*a.opset_import, *b.opset_import):
        versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    proto.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in versions.items())
    proto.functions.extend(b.functions)
    known = {(f.domain, f.name) for f in b.functions}
    proto.functions.extend(f for f in a.functions if (f.domain, f.name) not in known)


def _renamer(diff: "Diff") -> Callable[[str], str]:
    """How a removed node's input is named in the union: b's value where a's was matched (a
    matched node's output, a graph input, a weight b reads at the same place), else ``a:<name>``."""
    stands_for = {theirs: mine for mine, theirs in diff.value_map().items()}

    def rename(value: str) -> str:
        if not value:
            return ""
        return stands_for.get(value, A_PREFIX + value)

    return rename


def open_diff(path_a: str, path_b: str) -> DiffIndex:
    """The view of the diff of two model files (what the ``.onnx`` viewer's "Diff" shows)."""
    from ._diff import diff

    return diff(path_a, path_b).view_index
