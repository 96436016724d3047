"""Recording a profile: one onnxruntime session with profiling on, opened, run and ended —
in this process, or (``isolate``) in the worker process of :mod:`workbench.runtime._isolate`,
so that a native crash of the runtime raises an error instead of killing the kernel.

The session lives between the calls in :data:`_live`, in whichever process runs it, so the
same three steps serve both. The worker gets the feeds (and a model held in memory) as files
in the recording's folder, removed when the recording ends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..runtime.internal import (
    COMPILING,
    Value,
    load,
    output_types,
    run_session,
    save,
    save_optimized_graph,
    session_error,
    session_options,
    shared_worker,
)

#: Open profiling sessions, by their recording folder: (session, feeds, the checker's problems).
_live: dict[str, tuple[Any, dict[str, Value], list[str]]] = {}


def record(source: str | bytes, feeds: Mapping[str, Value], *, level: str, threads: int,
           providers: Sequence[str], problems: Sequence[str], count: int, folder: Path,
           isolate: bool) -> dict[str, Any]:
    """Runs the model (a file, or serialized) ``count`` times in one profiling session that
    saves its optimized graph to ``folder/optimized.onnx`` (not with a provider that compiles
    subgraphs: such a graph has nodes no ONNX file holds).

    Returns ``{"file": the profile, "assignment": rows of (node, op_type, provider, subgraph)
    or None}``.
    Runtime failures (and crashes, isolated) raise :class:`~workbench.errors.SessionError`.
    Progress shows when the runs take over 2 s.
    """
    from tqdm.auto import tqdm

    call: Callable[..., None] = shared_worker().call if isolate else _here
    inputs: dict[str, Any] = dict(feeds)
    sent: list[Path] = []  # files only the worker needs: removed when it is done
    if isolate:  # the worker reads the model and the feeds from files
        if isinstance(source, bytes):
            sent.append(folder / "model.onnx")
            sent[-1].write_bytes(source)
            source = str(sent[-1])
        for i, (name, value) in enumerate(feeds.items()):
            sent.append(folder / f"feed{i}.npy")
            save(str(sent[-1]), value)
            inputs[name] = str(sent[-1])
    try:
        call(_open, str(folder), source, level, threads, list(providers), list(problems), inputs)
        try:
            for _ in tqdm(range(count), desc="profiling", unit="run", delay=2, leave=False):
                call(_run, str(folder))
        finally:
            call(_end, str(folder))
    finally:
        for path in sent:
            path.unlink(missing_ok=True)
    return json.loads((folder / "record.json").read_text(encoding="utf-8"))


def _here(function: Callable[..., None], *args: Any) -> None:
    function(*args)


def _open(folder: str, source: str | bytes, level: str, threads: int, providers: list[str], problems: list[str],
          inputs: Mapping[str, str | np.ndarray]) -> None:
    """Opens the profiling session; ``inputs`` are the feeds, or (in the worker) their files."""
    import onnxruntime as ort

    def opened(save: bool) -> Any:
        options = session_options(level, threads)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(folder, "onnxruntime_profile")
        if save:
            save_optimized_graph(options, os.path.join(folder, "optimized.onnx"))  # the graph this very session ran
        options.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
        return ort.InferenceSession(source, options, providers=providers)

    # A provider that compiles subgraphs (OpenVINO, TensorRT…) leaves nodes no ONNX file can hold:
    # such a session cannot save its optimized graph, and its kernels map through the assignment.
    save = not COMPILING.intersection(providers)
    try:
        try:
            session = opened(save)
        except Exception as exc:  # noqa: BLE001 - another compiling provider: known by its words
            if not save or "compiled nodes" not in str(exc):
                raise
            session = opened(False)
    except Exception as exc:  # noqa: BLE001 - Fail, InvalidGraph, NotImplemented, …: one typed error
        raise session_error(exc, "onnxruntime could not load the model to profile it", problems) from exc
    feeds = {name: load(value, mmap=True) if isinstance(value, str) else value for name, value in inputs.items()}
    _live[folder] = (session, feeds, problems)


def _run(folder: str) -> None:
    session, feeds, problems = _live[folder]
    types = output_types(session.get_outputs())
    try:
        run_session(session, list(types), feeds, types)
    except Exception as exc:  # noqa: BLE001
        raise session_error(exc, "onnxruntime could not run the model to profile it", problems) from exc


def _end(folder: str) -> None:
    """Ends profiling and writes ``record.json``; nothing to do where the session is gone (its
    worker crashed)."""
    if folder not in _live:
        return
    session, _, _ = _live.pop(folder)
    record = {"file": session.end_profiling(), "assignment": _assignment(session)}
    Path(folder, "record.json").write_text(json.dumps(record), encoding="utf-8")


def _assignment(session: Any) -> list[tuple[str, str, str, int]] | None:
    """onnxruntime's record of which provider took which node (onnxruntime ≥ 1.23), else None:
    rows of (node, op type, provider, which of that provider's subgraphs, from 1)."""
    import onnxruntime as ort

    try:
        subgraphs = session.get_provider_graph_assignment_info()
    except (AttributeError, ort.capi.onnxruntime_pybind11_state.Fail):
        return None
    rows: list[tuple[str, str, str, int]] = []
    counted: dict[str, int] = {}
    for sub in subgraphs:
        counted[sub.ep_name] = counted.get(sub.ep_name, 0) + 1
        rows.extend((n.name, n.op_type, sub.ep_name, counted[sub.ep_name]) for n in sub.get_nodes())
    return rows
