"""``ViewIndex``: a model's graph view, served whole or a group at a time."""

from __future__ import annotations

import base64
import gc
import json
import math
import os
import re
import warnings
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from ..errors import NotFoundError, UsageError
from ..model.internal import card_html, summary_text
from ._build import GraphBuilder
from ._details import node_details, tensor_view, weight_stats
from ._schema import constant_value
from ._standalone import standalone_block

if TYPE_CHECKING:
    import graphviz
    import numpy as np
    import pandas as pd

    from ..model import Model

#: The MIME type of the view payload; the JupyterLab extension renders it.
VIEW_MIME_TYPE = "application/vnd.onnx-workbench.graph+json"
VIEW_SCHEMA_VERSION = 1
#: The environment variable choosing what an output's HTML form carries: ``interactive`` or ``static``.
OUTPUT_HTML_VARIABLE = "WORKBENCH_OUTPUT_HTML"
#: Payload size for front ends that fetch the rest on demand (widget, file viewer).
LAZY_PAYLOAD_BYTES = 500_000
#: First paint opens groups while no more than this many boxes are visible.
_FIRST_PAINT_BOXES = 60
#: The most hits a search answers with (the total is counted in full).
SEARCH_LIMIT = 1000


#: About what a weight's statistics add to the details' JSON: ``, "stats": {"min": …, "max": …}``.
_STATS_BYTES = len(json.dumps({"stats": dict.fromkeys(("min", "max", "mean", "std"), -1.2345678901234567e-10)}))


class ViewIndex:
    """Every group of a model's view, built once; payloads and single groups on demand.

    >>> import workbench as wb
    >>> index = wb.graph.build_view(wb.samples.open("tiny_cnn"))
    >>> index.payload()["schema"]
    1
    """

    def __init__(self, model: "Model") -> None:
        self.model = model
        built = GraphBuilder(model)
        self.root = built.root
        self._groups = built.groups
        self._owner = built.owner
        self._function_nodes = built.function_nodes
        self._json: dict[str, dict] = {}
        self._details: dict[str, dict] = {}  # by node id, with weight statistics
        self._light: dict[str, dict] = {}  # by node id, without
        self._stats: dict[str, dict] = {}  # by weight name: each weight read once
        self._search_entries: list[tuple[str, str, tuple[str, ...]]] | None = None

    # ---- the parts ----------------------------------------------------------------------
    def group(self, group_id: str) -> dict:
        """One group as schema-1 JSON; ``KeyError`` if there is no such group."""
        if group_id not in self._json:
            try:
                group = self._groups[group_id]
            except KeyError:
                raise NotFoundError(f"No group {group_id!r} in this view.") from None
            self._json[group_id] = group.to_json()
        return self._json[group_id]

    @property
    def group_ids(self) -> list[str]:
        """Every group id, roots of subgraph and function bodies included."""
        return list(self._groups)

    def details(self, node_id: str) -> dict:
        """The side-panel details of one node; ``KeyError`` if there is no such node.

        Built on first request and kept; each weight's statistics are read once, whichever
        nodes show it.
        """
        if node_id not in self._details:
            details = self._light_details(node_id)
            self._details[node_id] = {**details, "inputs": [self._with_stats(entry) for entry in details["inputs"]]}
        return self._details[node_id]

    def _light_details(self, node_id: str) -> dict:
        """A node's details without weight statistics (nothing read), kept."""
        if node_id not in self._light:
            if node_id in self._function_nodes:
                node, prefix = self._function_nodes[node_id]
            else:
                try:
                    record = self.model.records_by_id[node_id]
                except KeyError:
                    raise NotFoundError(f"No node {node_id!r} in this model.") from None
                node, prefix = record.node, self.model.scope_path(record.id)
            self._light[node_id] = node_details(self.model, node_id, node, prefix)
        return self._light[node_id]

    def _with_stats(self, entry: dict) -> dict:
        """An input entry of the details with its weight's statistics, read once per weight."""
        tensor = self.model.initializers.get(entry["name"]) if entry["kind"] == "initializer" else None
        if tensor is None:
            return entry
        if tensor.name not in self._stats:
            self._stats[tensor.name] = weight_stats(self.model, tensor)
        return {**entry, "stats": self._stats[tensor.name]} if self._stats[tensor.name] else entry

    def tensor(self, name: str, index: str = "", npy: bool = False) -> dict:
        """A weight's values for the tensor viewer: an initializer, or a Constant node's value, or
        the slice ``index`` of it (text such as ``0, :, 1:3``), printed as numpy prints it
        (summarised beyond 1,000 values), with its statistics; with ``npy``, also the slice as a
        base64 ``.npy`` file. ``KeyError`` for a name that is neither."""
        array: np.ndarray | None = None
        if name in self.model.initializers:
            array = self.model.weight(name)
        else:
            maker = next((r.node for r in self.model.records if r.node.op_type == "Constant" and name in r.node.output),
                         None)
            array = constant_value(maker) if maker is not None else None
        if array is None:
            raise NotFoundError(f"No weight {name!r} in this model: name an initializer or a Constant's output.")
        return tensor_view(array, name, index, npy)

    def ancestors(self, item_id: str) -> list[str]:
        """The groups containing an item (node id or group id), outermost first."""
        chain = []
        while item_id in self._owner:
            item_id = self._owner[item_id]
            chain.append(item_id)
        return chain[::-1]

    # ---- search ---------------------------------------------------------------------------
    def search(self, query: str, limit: int = SEARCH_LIMIT) -> dict:
        """Every item of the whole model matching ``query``, loaded in a front end or not.

        ``query`` is a case-insensitive substring or ``/regular expression/flags`` (as in the
        view's search box). It is matched against each node's name, id, op type and the values it
        reads and writes (so a value's name finds its producer and its readers), each group's
        label and scope path, and the graph inputs and outputs. A constant (drawn as a weight) is
        found through the node that reads it. Hits are in drawing order
        (depth first, top to bottom), at most ``limit`` of them; each names the item, the group
        holding it and that group's chain from the graph's root, so a front end can open the
        groups around a hit it has not loaded::

            {"query": ..., "hits": [{"item": id, "group": id, "chain": [root, ..., group]}],
             "total": n, "error": null | "why the regex is malformed"}
        """
        test, error = _matcher(query.strip())
        hits: list[dict] = []
        total = 0
        seen: set[str] = set()
        if test is not None and query.strip():
            for item_id, group_id, fields in self._searchable():
                if item_id in seen or not any(test(field) for field in fields):
                    continue
                seen.add(item_id)
                total += 1
                if len(hits) < limit:
                    hits.append({"item": item_id, "group": group_id, "chain": [*self.ancestors(group_id), group_id]})
        return {"query": query, "hits": hits, "total": total, "error": error}

    def _searchable(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """``(item id, group id, the item's texts)`` for every item, depth first in drawing order
        from each graph's root; built once. A constant (a node drawn as a weight) is among the
        texts of the node that reads it: its id and its output."""
        if self._search_entries is None:
            with _collector_paused():
                self._search_entries = self._search_list()
        return self._search_entries

    def _search_list(self) -> list[tuple[str, str, tuple[str, ...]]]:
        protos = {r.id: r.node for r in self.model.records}
        protos.update((node_id, node) for node_id, (node, _) in self._function_nodes.items())
        made_by = {o: r.id for r in self.model.records if r.id not in self._owner for o in r.node.output if o}
        entries: list[tuple[str, str, tuple[str, ...]]] = []

        def visit(group_id: str) -> None:
            for item in self._groups[group_id].items:
                kind = item["kind"]
                if kind == "node":
                    node = protos[item["node"]]
                    weights = item.get("weights", ())
                    constants = [t for w in weights if w[0] in made_by for t in (made_by[w[0]], w[0])]
                    entries.append((item["id"], group_id,
                                    (item["label"], item["node"], node.name, *node.output, *node.input, *constants)))
                elif kind == "group":
                    entries.append((item["id"], group_id, (item["label"], self._groups[item["group"]].path)))
                    visit(item["group"])
                elif kind != "ref":
                    entries.append((item["id"], group_id, (item["label"],)))

        for root in (g for g, group in self._groups.items() if group.parent is None):
            visit(root)
        return entries

    # ---- payloads -----------------------------------------------------------------------
    def payload(self, *, budget: int = 2_000_000, expanded: Iterable[str] | None = None,
                overlay: dict | None = None, selected: Iterable[str] = (),
                highlighted: Iterable[str] = ()) -> dict:
        """The view as one JSON-ready dict (``docs/view-schema.md``).

        Groups are added breadth first from the main root until about ``budget`` bytes of
        JSON; the rest are fetched on demand by the widget or the file viewer. When every
        group fits, node details are included too and ``complete`` is true.

        ``expanded`` are the groups open at first paint; by default, groups are opened
        from the top while no more than about 60 boxes show.
        """
        summary = self.model.card_data()
        groups: dict[str, dict] = {}
        size = len(json.dumps(summary)) + 1000  # the summary and the other fields
        queue = deque([self.root] + [g for g in self._groups if self._groups[g].parent is None and g != self.root])
        while queue:
            gid = queue.popleft()
            chunk = self.group(gid)
            chunk_size = len(json.dumps(chunk)) + len(json.dumps(gid)) + 2  # the key in "groups" too
            if groups and size + chunk_size > budget:
                break
            groups[gid] = chunk
            size += chunk_size
            queue.extend(item["group"] for item in chunk["items"] if item["kind"] == "group")
        complete = len(groups) == len(self._groups)
        details = None
        if complete:
            ids = [*(r.id for r in self.model.records), *self._function_nodes]
            # Sized without weight statistics first: on a model whose details do not fit, no
            # weight is read for nothing (BERT-base: 435 MB read, then dropped).
            light = {nid: self._light_details(nid) for nid in ids}
            weights = sum(entry["kind"] == "initializer" for d in light.values() for entry in d["inputs"])
            if size + len(json.dumps(light)) + weights * _STATS_BYTES > budget:
                details, complete = None, False
            else:
                details = {nid: self.details(nid) for nid in ids}
                if size + len(json.dumps(details)) > budget:
                    details, complete = None, False
        return {
            "schema": VIEW_SCHEMA_VERSION,
            "title": self.model.name,
            "summary": summary,
            "root": self.root,
            "groups": groups,
            **({"details": details} if details is not None else {}),
            "complete": complete,
            "expanded": list(expanded) if expanded is not None else self.first_paint(groups),
            "overlay": overlay,
            "selected": list(selected),
            "highlighted": list(highlighted),
        }

    def first_paint(self, available: Mapping[str, dict] | None = None) -> list[str]:
        """Groups to open at first paint: breadth first while about 60 boxes or fewer show.

        ``available`` limits the choice to the groups a payload carries.
        """
        def lookup(gid: str) -> dict | None:
            return self.group(gid) if available is None else available.get(gid)

        opened: list[str] = []
        root = self.group(self.root)
        visible = len(root["items"])
        queue = deque(item["group"] for item in root["items"] if item["kind"] == "group")
        while queue:
            gid = queue.popleft()
            chunk = lookup(gid)
            if chunk is None or chunk["kind"] == "repeat":
                continue
            if visible - 1 + len(chunk["items"]) > _FIRST_PAINT_BOXES:
                continue
            opened.append(gid)
            visible += len(chunk["items"]) - 1
            queue.extend(item["group"] for item in chunk["items"] if item["kind"] == "group")
        return opened

    # ---- overlays -------------------------------------------------------------------------
    def overlay(self, values: "Mapping[str, float] | pd.Series", label: str, aggregate: str = "max") -> dict:
        """An overlay colouring nodes by ``values`` (keyed by node id), groups by their aggregate.

        ``aggregate="max"`` (default): a group is as hot as its hottest node, so nodes and
        groups share one colour scale. ``"sum"``: a group shows its total (latency per
        module), and the scale stretches to the largest total, so single nodes look cool.
        Unknown node ids raise ``KeyError``; NaN values are skipped.
        """
        if aggregate not in ("sum", "max"):
            raise UsageError(f"aggregate must be 'sum' or 'max', not {aggregate!r}.")
        items = dict(values.items())
        unknown = [k for k in items if k not in self.model.records_by_id and k not in self._function_nodes]
        if unknown:
            raise NotFoundError(f"Overlay values for unknown node ids {unknown[:5]}; keys must be ids of Model.nodes.")
        result: dict[str, float] = {}
        for node_id, raw in items.items():
            value = float(raw)
            if math.isnan(value):
                continue
            result[node_id] = value
            for gid in self.ancestors(node_id)[1:]:  # a graph's root is never drawn as a box
                previous = result.get(gid)
                if previous is None:
                    result[gid] = value
                else:
                    result[gid] = previous + value if aggregate == "sum" else max(previous, value)
        numbers = list(result.values())
        return {"label": label, "values": result,
                "min": min(numbers) if numbers else 0.0, "max": max(numbers) if numbers else 0.0}

    # ---- static picture -----------------------------------------------------------------
    def to_graphviz(self, expanded: Iterable[str] = ()) -> "graphviz.Digraph":
        """The main graph as a ``graphviz.Digraph``, with the ``expanded`` groups open."""
        from ._static import to_graphviz

        return to_graphviz(self, set(expanded))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused: making many small tuples otherwise sets off full
    collections over the whole index (the search list of a 10k-node model: 0.26 s, paused 0.06 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _matcher(query: str) -> tuple[Callable[[str], bool] | None, str | None]:
    """The test for a query, as the view's search box reads it: ``/body/flags`` is a regular
    expression (case-insensitive unless flags are given without ``i``), anything else a
    case-insensitive substring. ``(None, why)`` for a malformed expression."""
    regex = re.fullmatch(r"/(.+)/([a-z]*)", query)
    if regex is None:
        needle = query.lower()
        return (lambda text: needle in text.lower()), None
    flags = regex[2].replace("g", "").replace("y", "") or "i"
    try:
        pattern = re.compile(regex[1], (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0))
    except re.error as error:
        return None, f"Invalid regular expression: {error}"
    return (lambda text: pattern.search(text) is not None), None


def build_view(model: "Model") -> ViewIndex:
    """Builds the graph view of a model (cached on the model: ``Model.view_index``)."""
    return ViewIndex(model)


def mime_bundle(model: "Model") -> dict[str, Any]:
    """What a notebook shows of a model: the interactive view for JupyterLab with the extension
    (its payload); for other front ends a static SVG of the first paint, and HTML that draws the
    same view where scripts run (an exported notebook, a trusted output) and shows the summary
    card and that SVG where they do not (a sanitised output, a notebook on a code host)."""
    index = model.view_index
    payload = index.payload()
    bundle = {"text/plain": summary_text(payload["summary"]), VIEW_MIME_TYPE: payload}
    svg = _static_svg(index, payload["expanded"])
    if svg is not None:
        bundle["image/svg+xml"] = svg
    bundle["text/html"] = html_fallback(payload, card_html(payload["summary"]), svg)
    return bundle


def html_fallback(payload: dict, card: str = "", svg: str | None = None) -> str:
    """A view's HTML form for front ends without our renderer: the standalone view of
    ``payload``, over ``card`` and ``svg`` (as an image) for where its scripts do not run.

    The standalone view inlines the renderer (about 0.9 MB per output, which the notebook file
    keeps); with the environment variable ``WORKBENCH_OUTPUT_HTML=static`` outputs carry the
    card and the picture only.
    """
    picture = ("<img alt='the graph (static)' style='max-width:100%' src='data:image/svg+xml;base64,"
               + base64.b64encode(svg.encode("utf-8")).decode("ascii") + "'>") if svg else ""
    mode = os.environ.get(OUTPUT_HTML_VARIABLE, "interactive")
    if mode not in ("interactive", "static"):
        raise UsageError(f"{OUTPUT_HTML_VARIABLE}={mode!r}: set it to 'interactive' (the default) or 'static'.")
    if mode == "static":
        return f"<div>{card}{picture}</div>"
    return standalone_block(payload, None, fallback=card + picture)


def _static_svg(index: ViewIndex, expanded: list[str]) -> str | None:
    """The SVG of the first paint, or None when graphviz's ``dot`` is not installed."""
    import graphviz

    try:
        return index.to_graphviz(expanded).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        warnings.warn("graphviz's `dot` is not installed, so the output has no static SVG "
                      "(install the graphviz system package).", stacklevel=6)  # where the model was displayed
        return None
