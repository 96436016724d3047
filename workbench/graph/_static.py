"""The static picture: the view's current state as a graphviz graph (SVG for any front end).

Expanded groups become clusters, collapsed groups single boxes, exactly as the
interactive view shows them. Labels go through ``graphviz.escape`` so model strings
cannot inject DOT, and the SVG that ``dot`` writes escapes them for XML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

if TYPE_CHECKING:
    from ._index import ViewIndex

_NODE_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8eef7", "fontname": "Helvetica",
               "fontsize": "10", "height": "0.3"}
_KIND_STYLE = {
    "group": {"shape": "box3d", "fillcolor": "#f4f1e6"},
    "input": {"shape": "ellipse", "fillcolor": "#dff0d8"},
    "output": {"shape": "ellipse", "fillcolor": "#f2dede"},
    "ref": {"style": "dashed,rounded", "fontsize": "8"},
}


def _label(item: dict) -> str:
    if item["kind"] == "group":
        return f"{item['label']}\n{item['nodes']} nodes"
    if item["kind"] in ("input", "output"):
        return f"{item['label']}\n{item['shape']}" if item["shape"] else item["label"]
    return item["label"]


def to_graphviz(index: "ViewIndex", expanded: set[str]) -> graphviz.Digraph:
    """The main graph with ``expanded`` groups drawn as clusters."""
    # graphviz writes a name shaped like <…> unquoted (as an HTML string): escape it too.
    dot = graphviz.Digraph(graphviz.escape(index.model.name or "model"),
                           graph_attr={"rankdir": "TB", "compound": "true", "fontname": "Helvetica", "fontsize": "10"},
                           node_attr=_NODE_STYLE, edge_attr={"fontsize": "8", "fontname": "Helvetica"})
    names: dict[str, str] = {}  # item id → DOT node name (indices: model strings never become DOT ids)
    anchor: dict[str, str] = {}  # expanded group id → a DOT node inside its cluster

    def draw(graph: graphviz.Digraph, group_id: str) -> None:
        group = index.group(group_id)
        for item in group["items"]:
            if item["kind"] == "group" and item["group"] in expanded:
                with graph.subgraph(name=f"cluster_{len(names)}") as cluster:
                    names[item["id"]] = f"cluster_{len(names)}"
                    cluster.attr(label=graphviz.escape(item["label"]), style="rounded", color="#999999")
                    draw(cluster, item["group"])
                    first = index.group(item["group"])["items"]
                    if first:
                        inner = first[0]["id"]
                        anchor[item["id"]] = anchor.get(inner, names[inner])
                continue
            name = names[item["id"]] = f"n{len(names)}"
            graph.node(name, graphviz.escape(_label(item)), **_KIND_STYLE.get(item["kind"], {}))
        for a, b, label in group["edges"]:
            source, target = group["items"][a]["id"], group["items"][b]["id"]
            attrs = {"label": graphviz.escape(label)} if label else {}
            if source in anchor:
                attrs["ltail"] = names[source]
            if target in anchor:
                attrs["lhead"] = names[target]
            tail, head = anchor.get(source, names[source]), anchor.get(target, names[target])
            if tail and head:
                graph.edge(tail, head, **attrs)

    draw(dot, index.root)
    return dot
