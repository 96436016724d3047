"""Reading onnxruntime's profile JSON: trace events → one flat table, each event placed in its run.

onnxruntime writes a Chrome trace: a JSON list of ``ph:"X"`` events. ``cat:"Session"``
events time the session (``model_loading_*``, ``session_initialization``) and each run
(``model_run``, and inside it ``SequentialExecutor::Execute``); ``cat:"Node"`` events,
named ``<node>_kernel_time``, time one kernel each and carry ``args`` (``op_name``,
``provider``, input/output shapes, sizes as strings, thread and memory statistics).
Builds with CUDA profiling add ``cat:"Kernel"`` events: device kernels, listed right
after the node that launched them. Events carry no run id: a run is a top-level
``Executor::Execute`` interval (control-flow bodies open nested ones).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..errors import ProfileError

_FIX = ("Was it written by onnxruntime with SessionOptions.enable_profiling=True, and closed with "
        "session.end_profiling()?")
_KERNEL_SUFFIX = "_kernel_time"
# Node events onnxruntime may write around a kernel: only the kernel's own time is kept.
_FENCES = ("_fence_before", "_fence_after")


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The trace events of a profile file, checked: a list of events with at least one ``Node`` event.

    Accepts the JSON array onnxruntime writes and the ``{"traceEvents": [...]}`` object form
    of the Chrome trace format. Raises :class:`ProfileError` naming the file, what is wrong
    with it and what to do.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"No profile file at {str(path)!r}; check the path "
                           "(session.end_profiling() returns the file it wrote).") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{str(path)!r} is not a profile: it is binary, not JSON text. {_FIX}") from None
    if not text.strip():
        raise ProfileError(f"{str(path)!r} is empty. {_FIX}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                           f"it may be cut short or corrupted. {_FIX}") from None
    if isinstance(data, dict) and isinstance(data.get("traceEvents"), list):
        data = data["traceEvents"]
    if not isinstance(data, list) or not all(isinstance(e, dict) and "name" in e for e in data):
        raise ProfileError(f"{str(path)!r} is JSON but not a list of trace events (objects with 'name', 'cat', "
                           f"'ts', 'dur'). {_FIX}")
    if not any(e.get("cat") == "Node" for e in data):
        raise ProfileError(f"{str(path)!r} has no Node events, so there are no kernel timings in it. {_FIX} "
                           "The session must run at least once before end_profiling().")
    return data


def event_table(events: Sequence[dict[str, Any]], warmup: int = 0) -> pd.DataFrame:
    """One row per event (fence events dropped), ``args`` flattened into columns.

    Numeric strings become numbers; ``thread_scheduling_stats`` becomes ``main_thread.*``
    columns plus ``sub_threads`` (how many) and ``sub_threads.num_run`` (their total).
    Added columns: ``event`` (position in the file), ``node`` (the node a Node or Kernel
    event times), ``run`` (0, 1, … for measured runs; -``warmup`` … -1 for the warm-up
    runs; missing outside runs), ``depth`` (0 for the main graph, 1 inside a control-flow
    body, …) and ``parent`` (for a Node event inside a body, the ``event`` of the If/Loop/Scan
    node running it).
    """
    kept = [(i, e) for i, e in enumerate(events) if not str(e.get("name", "")).endswith(_FENCES)]
    table = pd.json_normalize([e for _, e in kept], sep=".")
    table.columns = [c.removeprefix("args.").removeprefix("thread_scheduling_stats.") for c in table.columns]
    table.insert(0, "event", [i for i, _ in kept])
    table = _sub_threads(table)
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = _numeric(table[column])
    table["node"] = _nodes(table)
    table["run"], table["depth"], table["parent"] = _runs(table, warmup)
    return table


def _sub_threads(table: pd.DataFrame) -> pd.DataFrame:
    """Per-thread columns (keyed by thread id) summed into two: how many threads, and their runs."""
    runs = [c for c in table.columns if c.startswith("sub_threads.") and c.endswith(".num_run")]
    per_thread = [c for c in table.columns if c.startswith("sub_threads.")]
    if not per_thread:
        return table
    summary = pd.DataFrame({"sub_threads": table[runs].notna().sum(axis=1),
                            "sub_threads.num_run": table[runs].sum(axis=1, min_count=1)})
    return pd.concat([table.drop(columns=per_thread), summary], axis=1)


def _numeric(column: pd.Series) -> pd.Series:
    """The column as numbers when every value is a number or a numeric string (sizes come as strings)."""
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def _nodes(table: pd.DataFrame) -> pd.Series:
    """The node each event times: the name of Node events less ``_kernel_time``; for a device
    Kernel event, the node named in its args, else the Node event listed before it."""
    is_node = table["cat"] == "Node"
    node = table["name"].where(is_node).str.removesuffix(_KERNEL_SUFFIX)
    if (table["cat"] == "Kernel").any():
        launched_by = node.ffill()
        for key in ("parent_name", "node_name"):
            if key in table.columns:
                launched_by = table[key].astype("string").str.removesuffix(_KERNEL_SUFFIX).fillna(launched_by)
        node = node.where(is_node, launched_by.where(table["cat"] == "Kernel"))
    return node


def _runs(table: pd.DataFrame, warmup: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Run number, nesting depth and enclosing control-flow node of every event."""
    run = pd.Series(pd.NA, index=table.index, dtype="Int64")
    depth = run.copy()
    parent = run.copy()
    # Execute intervals, by start: one that starts after all open ones ended opens the next run.
    is_execute = (table["cat"] == "Session") & table["name"].str.endswith("Executor::Execute")
    executes = table.loc[is_execute, ["ts", "dur"]].sort_values("ts", kind="stable")
    starts, ends = executes["ts"].to_numpy(), (executes["ts"] + executes["dur"]).to_numpy()
    open_ends: list[float] = []
    top = -1
    for index, start, end in zip(executes.index, starts, ends):
        while open_ends and open_ends[-1] < start:
            open_ends.pop()
        top += not open_ends
        run[index], depth[index] = top - warmup, len(open_ends)
        open_ends.append(end)
    # Node events, in time order, against the Execute intervals and the Node events open then.
    open_ends, i = [], 0
    open_nodes: list[tuple[float, int, int]] = []  # (end, event number, depth)
    is_node = table["cat"] == "Node"
    for index, ts in table.loc[is_node, "ts"].sort_values(kind="stable").items():
        while i < len(starts) and starts[i] <= ts:
            open_ends.append(ends[i])
            i += 1
        open_ends = [end for end in open_ends if end >= ts]
        while open_nodes and open_nodes[-1][0] < ts:
            open_nodes.pop()
        if not open_ends:
            continue  # outside every run
        run[index], depth[index] = run[executes.index[i - 1]], len(open_ends) - 1
        if open_nodes and open_nodes[-1][2] < depth[index]:
            parent[index] = open_nodes[-1][1]
        open_nodes.append((ts + table.at[index, "dur"], table.at[index, "event"], depth[index]))
    # A model_run event holds its run's top-level Execute.
    session = table.loc[(table["cat"] == "Session") & (table["name"] == "model_run"), ["ts", "dur"]]
    for index, ts, dur in session.itertuples():
        inside = executes.index[(starts >= ts) & (ends <= ts + dur)]
        if len(inside):
            run[index], depth[index] = run[inside[0]], 0
    # A device kernel belongs to the run of the node that launched it (its clock is the device's).
    is_kernel = table["cat"] == "Kernel"
    if is_kernel.any():
        run[is_kernel] = run.where(is_node).ffill()[is_kernel]
        depth[is_kernel] = depth.where(is_node).ffill()[is_kernel]
    return run, depth, parent
