"""Display, attached from above.

The data classes (``Model``, ``Debugger``, ``Report``, ``Profile``) live in layers that know
nothing of the graph view or the widgets: model ← graph, runtime ← comparison, profiling,
analysis ← widgets ← display (``docs/architecture.md``; ``lint-imports`` checks it). Where one
of them shows itself, it calls a hook by name here; ``workbench/_display.py``, at the top,
attaches the functions that do it when the package is imported.
"""

from __future__ import annotations

from typing import Any, Callable

_HOOKS: dict[str, Callable[..., Any]] = {}


def attach(name: str, function: Callable[..., Any]) -> None:
    """Makes ``function`` the one that ``call(name, ...)`` runs."""
    _HOOKS[name] = function


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Runs the function attached under ``name`` (``workbench/_display.py`` attaches them all)."""
    return _HOOKS[name](*args, **kwargs)
