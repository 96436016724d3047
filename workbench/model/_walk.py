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
from typing import Iterator

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


def subgraphs(node: onnx.NodeProto) -> Iterator[tuple[str, onnx.GraphProto]]:
    """Yields ``(attribute label, graph)`` for each graph-valued attribute of a node."""
    if node.domain in ("", "ai.onnx") and node.op_type not in _CONTROL_FLOW:
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
        for _, sub in subgraphs(node):
            yield from iter_graphs(sub)


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
            if node.name and name_counts[node.name] == 1:
                node_id = node.name
            else:
                node_id = base = f"{prefix}{node.op_type}_{index}"
                k = 2
                while node_id in taken:
                    node_id, k = f"{base}#{k}", k + 1
                taken.add(node_id)
            records.append(NodeRecord(node_id, node, graph_label, parent, index))
            for label, sub in subgraphs(node):
                visit(sub, f"{node_id}/{label}", node_id)

    visit(graph, "", None)
    return records
