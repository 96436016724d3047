"""``GraphView``: the graph view as an ipywidget, in sync with Python both ways.

The front end (``GraphViewModel`` / ``GraphViewView`` in the JupyterLab extension) gets the
payload once, then fetches the groups and node details it lacks with custom messages
(docs/view-schema.md, "Messages"). Selection, highlights, the overlay and the expanded
groups are synced traits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets
import traitlets

from .. import __version__
from ..graph import LAZY_PAYLOAD_BYTES, ViewIndex

if TYPE_CHECKING:
    import graphviz
    import pandas as pd

    from ..model import Model

MODULE_NAME = "onnx-workbench"
MODULE_VERSION = f"^{__version__}"
HEIGHT = 560


class GraphView(ipywidgets.DOMWidget):
    """The model's graph, drawn in the notebook; clicks and Python calls stay in sync.

    ::

        v = GraphView(wb.samples.open("tiny_cnn"))
        v                       # shows the view; click a node, then
        v.selected              # the clicked node's id
        v.set_overlay(latency)  # colours nodes by a Series keyed by node id
    """

    _model_name = traitlets.Unicode("GraphViewModel").tag(sync=True)
    _view_name = traitlets.Unicode("GraphViewView").tag(sync=True)
    _model_module = traitlets.Unicode(MODULE_NAME).tag(sync=True)
    _view_module = traitlets.Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = traitlets.Unicode(MODULE_VERSION).tag(sync=True)
    _view_module_version = traitlets.Unicode(MODULE_VERSION).tag(sync=True)

    payload = traitlets.Dict(help="The view payload (schema 1), sent once.").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), help="Selected node ids (the user's clicks).").tag(sync=True)
    highlighted = traitlets.List(traitlets.Unicode(), help="Highlighted node ids.").tag(sync=True)
    overlay = traitlets.Dict(default_value=None, allow_none=True, help="Node values drawn as colours.").tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode(), help="Group ids open in the view.").tag(sync=True)

    def __init__(self, source: Model | ViewIndex, *, height: int = HEIGHT, **kwargs: Any) -> None:
        """Shows ``source``, a :class:`workbench.Model` or its :class:`workbench.graph.ViewIndex`.

        ``height`` is the view's height in pixels; other keyword arguments go to
        ``ipywidgets.DOMWidget`` (``layout=...`` replaces the default layout).
        """
        self._index = source if isinstance(source, ViewIndex) else source.view_index
        kwargs.setdefault("layout", {"height": f"{height}px", "width": "100%"})
        payload = self._index.payload(budget=LAZY_PAYLOAD_BYTES)
        super().__init__(payload=payload, expanded=payload["expanded"], **kwargs)
        self.on_msg(self._answer)

    def select(self, node_ids: str | Iterable[str]) -> None:
        """Selects the nodes ``node_ids`` (one id or several) in the view."""
        self.selected = _ids(node_ids)

    def highlight(self, node_ids: str | Iterable[str]) -> None:
        """Highlights the nodes ``node_ids`` (one id or several); ``[]`` clears."""
        self.highlighted = _ids(node_ids)

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
        self.overlay = None

    def to_graphviz(self) -> graphviz.Digraph:
        """A static Graphviz drawing of the view with the groups now expanded in the front end."""
        return self._index.to_graphviz(expanded=tuple(self.expanded))

    def _answer(self, _widget: ipywidgets.Widget, content: dict, _buffers: list) -> None:
        """Answers the front end's ``{"request": "group" | "details", "id": ...}`` messages."""
        request, key = content.get("request"), content.get("id")
        reply = {"response": request, "id": key}
        lookups = {"group": (self._index.group, "group"), "details": (self._index.details, "node")}
        if request not in lookups:
            reply["error"] = f"Unknown request {request!r}; expected 'group' or 'details'."
        else:
            find, what = lookups[request]
            try:
                reply[request] = find(key)
            except KeyError:
                reply["error"] = f"The model has no {what} {key!r}."
        self.send(reply)

def _ids(node_ids: str | Iterable[str]) -> list[str]:
    """One id or several as a list of str."""
    return [node_ids] if isinstance(node_ids, str) else [str(node_id) for node_id in node_ids]
