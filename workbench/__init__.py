"""ONNX Workbench: see, step through, compare and profile ONNX models in JupyterLab.

>>> import workbench as wb
>>> m = wb.open(wb.samples.proto("tiny_cnn"))
>>> m.nodes.op_type.value_counts()["Conv"]
13
"""

from importlib.metadata import PackageNotFoundError, version

from . import errors, graph, samples
from .runtime import conditions, debug, providers, random_inputs
from .compare import Run, compare
from .profile import measure_roofs, profile, profile_compare, read_profile
from .analysis import load_analysis, save_analysis, verify_analysis
from .model import Model, Scope, ScopeTree, open

try:
    __version__ = version("onnx-workbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (used by ``jupyter labextension``)."""
    return [{"src": "labextension", "dest": "onnx-workbench"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the extension serving the ``.onnx`` file viewer's route."""
    return [{"module": "workbench._server"}]


__all__ = [
    "Model", "Run", "Scope", "ScopeTree", "compare", "conditions", "debug", "errors", "graph", "load_analysis",
    "measure_roofs", "open", "profile", "profile_compare", "providers", "random_inputs", "read_profile", "samples", "save_analysis",
    "verify_analysis", "__version__",
]
