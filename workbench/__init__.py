"""ONNX Workbench: see, step through, compare and profile ONNX models in JupyterLab.

>>> import workbench as wb
>>> m = wb.open(wb.samples.proto("tiny_cnn"))
>>> m.nodes.op_type.value_counts()["Conv"]
13

``import workbench`` imports nothing heavy: each public name below is imported on first use
(PEP 562): the first ``wb.open`` pays for onnx, the first table (``m.nodes``, a report)
for pandas, and a command that only steps through a model never loads pandas at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _display  # attaches the display to the data classes (see _hooks.py); imports nothing heavy

#: Each public name and the module that defines it (subpackages stand for themselves).
_PUBLIC = {
    "Model": ".model", "Scope": ".model", "ScopeTree": ".model", "open": ".model",
    "Debugger": ".runtime", "conditions": ".runtime", "debug": ".runtime", "providers": ".runtime",
    "random_inputs": ".runtime",
    "Report": ".comparison", "Run": ".comparison", "compare": ".comparison",
    "Profile": ".profiling", "measure_roofs": ".profiling", "profile": ".profiling", "profile_compare": ".profiling",
    "read_profile": ".profiling",
    "Diff": ".diffing", "diff": ".diffing",
    "read_sweeps": ".sweeps", "sweep": ".sweeps", "sweep_compare": ".sweeps",
    "Analysis": ".analysis", "load_analysis": ".analysis", "save_analysis": ".analysis", "verify_analysis": ".analysis",
    "analysis": None, "comparison": None, "diffing": None, "errors": None, "graph": None, "model": None,
    "precision": None, "profiling": None, "runtime": None, "samples": None, "sweeps": None,
}  # fmt: skip

if TYPE_CHECKING:  # what a type checker and an editor see; at run time these come from __getattr__
    from . import analysis, comparison, diffing, errors, graph, model, precision, profiling, runtime, samples, sweeps
    from .analysis import Analysis, load_analysis, save_analysis, verify_analysis
    from .comparison import Report, Run, compare
    from .diffing import Diff, diff
    from .model import Model, Scope, ScopeTree, open  # noqa: A004 - wb.open, as io.open
    from .profiling import Profile, measure_roofs, profile, profile_compare, read_profile
    from .runtime import Debugger, conditions, debug, providers, random_inputs
    from .sweeps import read_sweeps, sweep, sweep_compare


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._version import package_version

        value: Any = package_version()
    elif name in _PUBLIC:
        module = _PUBLIC[name]
        value = importlib.import_module(f".{name}" if module is None else module, __name__)
        value = value if module is None else getattr(value, name)
    else:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, "__version__"])


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (used by ``jupyter labextension``)."""
    return [{"src": "labextension", "dest": "onnx-workbench"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the extension serving the ``.onnx`` file viewer's route."""
    return [{"module": "workbench._server"}]


__all__ = [*_PUBLIC, "__version__"]
