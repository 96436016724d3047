"""Walking a model's graphs: the main graph and every If/Loop/Scan body inside it.

Node identity is decided here, once, and every other part of the workbench (tables,
graph view, runtime, compare, profile) keys its rows on these ids.

An id is the node's name when that name is non-empty and unique in the whole model —
so ids match what onnxruntime reports in profiles and what users search for. Nodes
with an empty or repeated name get ``<op_type>_<index>`` (index in their own graph),
prefixed by ``<parent id>/<attribute>/`` inside a subgraph, and a ``#k`` suffix in the
rare case that still collides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Iterator

import onnx


@dataclass(frozen=True)
class NodeRecord:
    """One node of the model, wherever it lives."""

    id: str
    node: onnx.NodeProto
    graph: str  # "" for the main graph, else "<parent id>/<attribute>"
    parent: str | None  # id of the If/Loop/Scan node owning the subgraph
    index: int  # position in its own graph


# The only default-domain ops whose schemas have graph attributes.
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})


def may_hold_graphs(node: onnx.NodeProto) -> bool:
    """False for a node that has no graph attribute: every default-domain op but control flow.
    Walks over every node ask this first, without making a :func:`subgraphs` generator (at 10,000
    nodes, each walk saves 10 ms)."""
    return node.op_type in _CONTROL_FLOW or node.domain not in ("", "ai.onnx")


def subgraphs(node: onnx.NodeProto) -> Iterator[tuple[str, onnx.GraphProto]]:
    """Yields ``(attribute label, graph)`` for each graph-valued attribute of a node."""
    if not may_hold_graphs(node):
        return  # fast path: skips scanning the attributes of every Conv and Add
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.name, attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            for i, graph in enumerate(attr.graphs):
                yield f"{attr.name}[{i}]", graph


def iter_graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """Yields the graph and, depth first, every subgraph nested in it."""
    yield graph
    for node in graph.node:
        if may_hold_graphs(node):
            for _, sub in subgraphs(node):
                yield from iter_graphs(sub)


#: The fields of a node that say what it computes (all but its metadata and doc string).
_NODE_FIELDS = [f.name for f in onnx.NodeProto.DESCRIPTOR.fields if f.name not in ("metadata_props", "doc_string")]
_NODE_LISTS = {f.name for f in onnx.NodeProto.DESCRIPTOR.fields if f.is_repeated}


def add_bare(target: Any, nodes: Iterable[onnx.NodeProto]) -> None:
    """Appends to ``target`` (a graph's ``node`` field) copies of ``nodes`` without their metadata
    and doc strings.

    Field by field: copying whole nodes and clearing the metadata would leave its bytes in
    protobuf's memory (which only grows) for as long as the copies live (a 10,000-node torch
    export: 40 MB)."""
    for node in nodes:
        bare = target.add()
        for name in _NODE_FIELDS:
            if name in _NODE_LISTS:
                getattr(bare, name).extend(getattr(node, name))
            else:
                setattr(bare, name, getattr(node, name))


def node_metadata(node: onnx.NodeProto, keys: Collection[str] | None = None) -> dict[str, str]:
    """A node's metadata entries (all of them, or those under ``keys``) as text.

    Node metadata is the one text of a model that opening does not check as UTF-8 (an exporter
    writes five entries a node, and checking them was a third of opening a 10,000-node torch
    export): what it reads here that is not UTF-8 comes with U+FFFD in place of the bad bytes,
    so a damaged stack trace or scope shows as damaged and stops nothing else. Every reader of
    node metadata reads it here.
    """
    found = {}
    for entry in node.metadata_props:  # values read only for the keys asked (a stack trace is long)
        key = _text(entry.key)
        if keys is None or key in keys:
            found[key] = _text(entry.value)
    return found


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def walk_nodes(graph: onnx.GraphProto) -> list[NodeRecord]:
    """Lists every node of ``graph`` and its subgraphs, each with its stable id."""
    name_counts: Counter[str] = Counter(
        node.name for g in iter_graphs(graph) for node in g.node if node.name
    )
    taken = {name for name, count in name_counts.items() if count == 1}
    records: list[NodeRecord] = []

    def visit(g: onnx.GraphProto, graph_label: str, parent: str | None) -> None:
        prefix = f"{graph_label}/" if graph_label else ""
        for index, node in enumerate(g.node):
            name = node.name
            if name and name_counts[name] == 1:
                node_id = name
            else:
                node_id = base = f"{prefix}{node.op_type}_{index}"
                k = 2
                while node_id in taken:
                    node_id, k = f"{base}#{k}", k + 1
                taken.add(node_id)
            records.append(NodeRecord(node_id, node, graph_label, parent, index))
            if may_hold_graphs(node):
                for label, sub in subgraphs(node):
                    visit(sub, f"{node_id}/{label}", node_id)

    visit(graph, "", None)
    return records
