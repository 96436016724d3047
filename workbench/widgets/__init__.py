"""Interactive widgets for notebooks: :class:`GraphView`, the two-way graph view."""

from ._graph import GraphView

__all__ = ["GraphView"]
