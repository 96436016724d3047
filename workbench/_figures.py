"""New matplotlib figures for the workbench's plots: plain ``Figure`` objects, outside pyplot's
state, that still display as images in a notebook."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import matplotlib.figure


def new_figure(width: float, height: float) -> "matplotlib.figure.Figure":
    """A ``Figure`` of ``width`` × ``height`` inches with a constrained layout.

    In a notebook whose backend is the inline one, that backend is loaded first: loading
    it is what registers IPython's image formatter for ``Figure``, and matplotlib loads
    backends lazily, so in a fresh kernel a returned figure would show as
    ``<Figure size …>`` text.
    """
    import matplotlib
    from matplotlib.figure import Figure

    if "inline" in matplotlib.get_backend():
        import matplotlib_inline.backend_inline  # noqa: F401  (registers the formatter on import)

    return Figure(figsize=(width, height), layout="constrained")
