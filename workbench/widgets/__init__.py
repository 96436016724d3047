"""Interactive widgets for notebooks: :class:`GraphView`, the two-way graph view, and
:class:`DebuggerView`, the step-through debugger's controls, graph and tensor inspector."""

from ._debugger import DebuggerView
from ._graph import GraphView

__all__ = ["DebuggerView", "GraphView"]
