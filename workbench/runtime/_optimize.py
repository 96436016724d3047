"""The graph onnxruntime actually runs: a model optimized as a session would, saved and reopened."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
import weakref
from typing import TYPE_CHECKING, Sequence

from ..errors import ModelCheckWarning, UsageError, WorkbenchError
from ._errors import session_error
from ._providers import resolve

if TYPE_CHECKING:
    import onnxruntime

    from ..model import Model

#: Our names for onnxruntime's graph optimization levels.
LEVELS = {"disabled": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
          "layout": "ORT_ENABLE_LAYOUT", "all": "ORT_ENABLE_ALL"}


def check_level(level: str) -> str:
    """``level`` if it names an optimization level, else a ``ValueError`` listing them."""
    if level not in LEVELS:
        raise UsageError(f"optimization must be one of {list(LEVELS)}, not {level!r}.")
    return level


#: The environment variable naming a process's intra-op thread count where a call gives none: a
#: sweep's worker processes set it, so that they share the cores instead of each taking them all.
THREADS_VARIABLE = "WORKBENCH_THREADS"


def default_threads() -> int:
    """The intra-op thread count of this process's sessions: :data:`THREADS_VARIABLE`, else 0
    (onnxruntime's default, one per core)."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value.isdigit():
        if value:
            raise UsageError(f"{THREADS_VARIABLE}={value!r}: set it to a whole number of threads (0 for one per core).")
        return 0
    return int(value)


def cores() -> int:
    """The cores this process may use (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def session_options(level: str, threads: int = 0) -> onnxruntime.SessionOptions:
    """Fresh session options at optimization ``level``, logging fatal errors only: what goes
    wrong reaches the user as a :class:`~workbench.errors.SessionError`, not as stderr lines
    (onnxruntime logs each failure as an error before raising it, and a failed profiling
    session logs one more when it is destroyed). ``threads`` intra-op threads (0: the
    process's :func:`default_threads`), and one inter-op thread where a count is set."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, LEVELS[check_level(level)])
    options.log_severity_level = 4
    threads = threads or default_threads()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def optimized(model: "Model", level: str, provider: str | Sequence[str] = "cpu") -> "Model":
    """The graph onnxruntime runs for ``model`` at ``level`` on ``provider``, as a Model."""
    import onnxruntime as ort

    folder = tempfile.mkdtemp(prefix="workbench-optimized-")
    options = session_options(level)
    base = re.sub(r"[^\w.-]+", "_", model.path.stem if model.path is not None else (model.name or "model"))
    # named for reports, which call a model by its file: "tiny_bert (all).onnx"
    path = os.path.join(folder, f"{base} ({level}).onnx")
    save_optimized_graph(options, path)
    source = str(model.path) if model.path is not None else model.proto.SerializeToString()
    try:
        ort.InferenceSession(source, options, providers=resolve(provider))
        result = open_optimized(path)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own types become one typed error
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, WorkbenchError):
            raise
        raise session_error(exc, f"onnxruntime could not optimize the model (level {level!r})",
                            model.problems) from exc
    weakref.finalize(result, shutil.rmtree, folder, True)  # the graph and its weights go with the Model
    result.proto.graph.name = f"{base} ({level})"
    return result


def open_optimized(path: str | os.PathLike) -> "Model":
    """A graph onnxruntime optimized and saved, opened without a :class:`ModelCheckWarning`: its
    layout transforms leave what onnx.checker calls problems (NCHWc reorder tokens that are
    initializers not listed as graph inputs), which say nothing about the user's model. They
    stay on ``Model.problems``."""
    from ..model import open as open_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelCheckWarning)
        return open_model(path)


def save_optimized_graph(options: onnxruntime.SessionOptions, path: str) -> None:
    """Has a session made with ``options`` save the graph it optimizes at ``path``, with its
    weights in a side file next to it (``<path>.data``): graphs over protobuf's 2 GiB save too,
    and opening one reads no weight."""
    options.optimized_model_filepath = path
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                     os.path.basename(path) + ".data")
