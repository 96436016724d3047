"""``GraphView``: the graph view as a widget, in sync with Python both ways.

The widget is an anywidget: its front end is the ES module built from
``extension/src/bundle/`` into ``workbench/static/``, so it renders wherever anywidget does
(JupyterLab, Notebook 7, VS Code, Colab, marimo), with or without our JupyterLab extension.
The front end gets the payload once, then fetches the groups and node details it lacks with
custom messages (docs/view-schema.md, "Messages"). Selection, highlights, the overlay, the
expanded groups and the marks (breakpoint badges) are synced traits; a breakpoint toggled in
the view comes back as the message ``{"event": "breakpoint", "id": <node id>}``.
Where no widget front end runs (an exported notebook), its output's HTML draws the view as it
was when shown, without the kernel.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets
import traitlets

from ..errors import UsageError, WorkbenchError
from ..graph import LAZY_PAYLOAD_BYTES, ViewIndex, bundle_file, html_fallback

if TYPE_CHECKING:
    import graphviz
    import pandas as pd

    from ..model import Model

HEIGHT = 560


class GraphView(anywidget.AnyWidget):
    """The model's graph, drawn in the notebook; clicks and Python calls stay in sync.

    ::

        v = GraphView(wb.samples.open("tiny_cnn"))
        v                       # shows the view; click a node, then
        v.selected              # the clicked node's id
        v.set_overlay(latency)  # colours nodes by a Series keyed by node id
    """

    _esm = bundle_file("workbench.js")
    _css = bundle_file("workbench.css")

    payload = traitlets.Dict(help="The view payload (schema 1), sent once.").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), help="Selected node ids (the user's clicks).").tag(sync=True)
    highlighted = traitlets.List(traitlets.Unicode(), help="Highlighted node ids.").tag(sync=True)
    overlay = traitlets.Dict(default_value=None, allow_none=True, help="Node values drawn as colours.").tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode(), help="Group ids open in the view.").tag(sync=True)
    marks = traitlets.Dict(
        value_trait=traitlets.Enum(["breakpoint"]), help="Badges drawn on nodes: node id → 'breakpoint'."
    ).tag(sync=True)
    breakpoint_clicks = traitlets.Bool(
        False, help="Whether a click on a node's left edge (or `b`) toggles its breakpoint; see on_breakpoint."
    ).tag(sync=True)
    height = traitlets.Int(HEIGHT, help="The view's height in pixels (front ends that ignore `layout` read it).").tag(
        sync=True)
    revealed = traitlets.Unicode(
        None, allow_none=True, help="A node brought into view (the view pans to it when it changes)."
    ).tag(sync=True)

    def __init__(self, source: Model | ViewIndex, *, height: int = HEIGHT, **kwargs: Any) -> None:
        """Shows ``source``, a :class:`workbench.Model` or its :class:`workbench.graph.ViewIndex`.

        ``height`` is the view's height in pixels; other keyword arguments go to
        ``anywidget.AnyWidget`` (``layout=...`` replaces the default layout).
        """
        self._index = source if isinstance(source, ViewIndex) else source.view_index
        kwargs.setdefault("layout", {"height": f"{height}px", "width": "100%"})
        payload = self._index.payload(budget=LAZY_PAYLOAD_BYTES)
        super().__init__(payload=payload, expanded=payload["expanded"], overlay=payload.get("overlay"),
                         height=height, **kwargs)
        self._breakpoint_handlers = ipywidgets.CallbackDispatcher()
        self.on_msg(self._answer)
        self.on_msg(self._on_event)

    def select(self, node_ids: str | Iterable[str]) -> None:
        """Selects the nodes ``node_ids`` (one id or several) in the view.

        The view opens the groups around the first and pans to it if it is off screen; its
        groups are added to ``expanded`` here, since the view may not have loaded them yet.
        """
        ids = _ids(node_ids)
        groups = [gid for gid in self._index.ancestors(ids[0]) if gid != self._index.root] if ids else []
        with self.hold_sync():
            self.expanded = sorted(set(self.expanded) | set(groups))
            self.selected = ids

    def highlight(self, node_ids: str | Iterable[str]) -> None:
        """Highlights the nodes ``node_ids`` (one id or several); ``[]`` clears."""
        self.highlighted = _ids(node_ids)

    def reveal(self, node_id: str) -> None:
        """Brings the node ``node_id`` into view: opens the groups around it, pans to it if off screen."""
        groups = [gid for gid in self._index.ancestors(node_id) if gid != self._index.root]
        with self.hold_sync():
            self.expanded = sorted(set(self.expanded) | set(groups))
            self.revealed = node_id

    def on_breakpoint(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Calls ``callback(node_id)`` when the user toggles a node's breakpoint in the view.

        Registering turns on ``breakpoint_clicks``. The view draws ``marks`` only: the
        callback decides what a toggle does and sets ``marks`` to match.
        """
        self._breakpoint_handlers.register_callback(callback, remove=remove)
        self.breakpoint_clicks = bool(self._breakpoint_handlers.callbacks)

    def set_overlay(
        self, values: Mapping[str, float] | pd.Series, label: str | None = None, aggregate: str = "max"
    ) -> None:
        """Colours nodes by ``values`` (a mapping or Series keyed by node id).

        Groups show the ``aggregate`` of their nodes' values: ``"max"`` (default: the
        hottest node, on the nodes' colour scale) or ``"sum"`` (a module's total latency).
        ``label`` titles the legend; it defaults to the Series' name.
        Unknown node ids raise ``KeyError``.
        """
        if label is None:
            label = str(getattr(values, "name", None) or "value")
        self.overlay = self._index.overlay(values, label, aggregate)

    def clear_overlay(self) -> None:
        """Removes the overlay: every node drawn neutral again."""
        self.overlay = None  # type: ignore[assignment]  # the trait allows None; its annotation does not say

    def to_graphviz(self) -> graphviz.Digraph:
        """A static Graphviz drawing of the view with the groups now expanded in the front end."""
        return self._index.to_graphviz(expanded=tuple(self.expanded))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the view, with the groups now expanded in the front end, to an ``.svg``, ``.png``
        or ``.pdf`` file (by its suffix), drawn by graphviz; returns the path.

        The toolbar's SVG and PNG buttons save the drawing exactly as the browser shows it; this
        is the same picture from Python, for scripts and reports.
        """
        import graphviz

        target = Path(path)
        fmt = {".svg": "svg", ".png": "png", ".pdf": "pdf"}.get(target.suffix.lower())
        if fmt is None:
            raise UsageError(f"Cannot save the view as {target.name!r}: name the file .svg, .png or .pdf.")
        try:
            picture = self.to_graphviz().pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise UsageError("Saving the view needs graphviz's `dot`: install the graphviz system package "
                             "(apt install graphviz, brew install graphviz, conda install graphviz).") from None
        target.write_bytes(picture)
        return target

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The widget, and for front ends that draw no widget (an exported notebook) the HTML of
        the view as it stands: the payload, the selection, the overlay, the open groups."""
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown
        payload = {**self.payload, "summary": None,  # the widget draws no card
                   "selected": list(self.selected), "highlighted": list(self.highlighted),
                   "overlay": self.overlay, "expanded": list(self.expanded)}
        return {**data, "text/html": html_fallback(payload)}, metadata

    def _answer(self, _widget: ipywidgets.Widget, content: dict, _buffers: list) -> None:
        """Answers the front end's ``{"request": "group" | "details" | "search" | "tensor", "id": ...}``
        messages (for a search, the id is the query; for a tensor, ``[name, index, npy]`` as JSON)."""
        if "event" in content:
            return  # not a request: see _on_event
        request, key = content.get("request"), content.get("id")
        reply = {"response": request, "id": key}
        if request == "tensor":  # the id is [weight name, index text, whether to send a .npy]
            try:
                name, index, npy = json.loads(str(key))
                reply["tensor"] = self._index.tensor(str(name), str(index), bool(npy))
            except (ValueError, TypeError, WorkbenchError) as error:  # a malformed id, a wrong name or index
                reply["error"] = str(error)
            self.send(reply)
            return
        lookups = {"group": (self._index.group, "group"), "details": (self._index.details, "node"),
                   "search": (self._index.search, "query")}
        if request not in lookups:
            reply["error"] = f"Unknown request {request!r}; expected 'group', 'details' or 'search'."
        else:
            find, what = lookups[request]
            try:
                reply[request] = find(str(key))
            except KeyError:
                reply["error"] = f"The model has no {what} {key!r}."
        self.send(reply)

    def _on_event(self, _widget: ipywidgets.Widget, content: dict, _buffers: list) -> None:
        """Passes ``{"event": "breakpoint", "id": <node id>}`` to the on_breakpoint callbacks."""
        if content.get("event") == "breakpoint" and isinstance(content.get("id"), str):
            self._breakpoint_handlers(content["id"])

def _ids(node_ids: str | Iterable[str]) -> list[str]:
    """One id or several as a list of str."""
    return [node_ids] if isinstance(node_ids, str) else [str(node_id) for node_id in node_ids]
