"""How the data classes show themselves, attached to them from the top of the layers (see
``workbench/_hooks.py``). Imported with the package; each hook imports the graph view or the
widgets when it first runs, so ``import workbench`` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _hooks

if TYPE_CHECKING:
    from .graph import ViewIndex
    from .model import Model
    from .runtime import Debugger
    from .widgets import GraphView


def view_index(model: Model) -> ViewIndex:
    """``Model.view_index``: the graph view's groups (the model keeps them: the index refers to
    its model, so a cache outside it would keep every model alive)."""
    from .graph import build_view

    return build_view(model)


def graph_view(source: Model | ViewIndex, height: int) -> GraphView:
    """``Model.view()`` and ``Diff.view()``: the interactive graph view widget of a model, or of
    a view index built otherwise (a diff's union)."""
    from .widgets import GraphView

    return GraphView(source, height=height)


def write_html(path: str | os.PathLike[str], index: ViewIndex) -> Path:
    """``Model.to_html()``: the whole view as one self-contained HTML file."""
    from .graph import write_html as write

    return write(path, index)


def model_bundle(model: Model) -> dict[str, Any]:
    """``Model._repr_mimebundle_``: the view for JupyterLab, a static SVG and the card for others."""
    from .graph import mime_bundle

    return mime_bundle(model)


def show_debugger(debugger: Debugger) -> None:
    """``Debugger._ipython_display_``: the controls, the graph and a tensor inspector."""
    from IPython.display import display

    from .widgets import DebuggerView

    display(DebuggerView(debugger))


for _function in (view_index, graph_view, write_html, model_bundle, show_debugger):
    _hooks.attach(_function.__name__, _function)
