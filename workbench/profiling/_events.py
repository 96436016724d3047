"""Reading onnxruntime's profile JSON: trace events → one flat table, each event placed in its run.

onnxruntime writes a Chrome trace: a JSON list of ``ph:"X"`` events. ``cat:"Session"``
events time the session (``model_loading_*``, ``session_initialization``) and each run
(``model_run``, and inside it ``SequentialExecutor::Execute``); ``cat:"Node"`` events,
named ``<node>_kernel_time``, time one kernel each and carry ``args`` (``op_name``,
``provider``, input/output shapes, sizes as strings, thread and memory statistics).
Builds with CUDA profiling add ``cat:"Kernel"`` events: device kernels, listed right
after the node that launched them. Events carry no run id: a run is a top-level
``Executor::Execute`` event (control-flow bodies open nested ones, inside the node running
them). onnxruntime writes each event as it ends, so the file's order tells which event holds
which where whole-microsecond timestamps cannot.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import ProfileError

_FIX = ("Was it written by onnxruntime with SessionOptions.enable_profiling=True, and closed with "
        "session.end_profiling()?")
_KERNEL_SUFFIX = "_kernel_time"
# Node events onnxruntime may write around a kernel: only the kernel's own time is kept.
_FENCES = ("_fence_before", "_fence_after")


#: One event per line, as onnxruntime writes them: the fields every table needs, read without
#: decoding ``args`` (the bulk of the file), which is decoded only for the events that need it.
_LINE = re.compile(r'\{"cat" ?: ?"(\w+)", ?"pid" ?: ?(\d+), ?"tid" ?: ?(\d+), ?"dur" ?: ?(\d+), ?"ts" ?: ?(\d+), ?'
                   r'"ph" ?: ?"X", ?"name" ?: ?"((?:[^"\\]|\\.)*)", ?"args" ?: ?(\{.*\})\},?$')


class Trace:
    """A profile's events, as columns (``cat``, ``name``, ``ts``, ``dur``, ``pid``, ``tid``)
    plus each event's ``args``, decoded on first use."""

    def __init__(self, columns: dict[str, np.ndarray], args: list[str | dict[str, Any]],
                 events: list[dict[str, Any]] | None = None) -> None:
        self.columns = columns
        self._args = args
        self._events = events

    def args(self, index: int) -> dict[str, Any]:
        """The ``args`` of event ``index``."""
        value = self._args[index]
        if isinstance(value, str):
            value = self._args[index] = json.loads(value)
        return value

    def event(self, index: int) -> dict[str, Any]:
        """Event ``index`` as onnxruntime wrote it."""
        if self._events is not None:
            return self._events[index]
        event = {key: (column[index].item() if hasattr(column[index], "item") else column[index])
                 for key, column in self.columns.items()}
        return {**event, "ph": "X", "args": self.args(index)}

    @classmethod
    def from_events(cls, events: list[dict[str, Any]]) -> "Trace":
        columns = {
            "cat": np.array([str(e.get("cat", "")) for e in events], dtype=object),
            "name": np.array([str(e["name"]) for e in events], dtype=object),
            "ts": np.array([float(e.get("ts", np.nan)) for e in events]),
            "dur": np.array([float(e.get("dur", np.nan)) for e in events]),
            "pid": np.array([e.get("pid") for e in events], dtype=object),
            "tid": np.array([e.get("tid") for e in events], dtype=object),
        }
        return cls(columns, [e.get("args") or {} for e in events], events)

    @classmethod
    def from_lines(cls, lines: list[str]) -> "Trace | None":
        """The trace from onnxruntime's one-event-per-line layout, or None if it is not that."""
        found = [m for m in map(_LINE.match, lines) if m is not None]
        if not found or len(found) != len(lines):
            return None
        fields = list(zip(*(m.groups() for m in found)))
        columns = {
            "cat": np.array(fields[0], dtype=object),
            "name": np.array([json.loads(f'"{n}"') if "\\" in n else n for n in fields[5]], dtype=object),
            "ts": np.array(fields[4], dtype=float),
            "dur": np.array(fields[3], dtype=float),
            "pid": np.array(fields[1], dtype=np.int64),
            "tid": np.array(fields[2], dtype=np.int64),
        }
        return cls(columns, list(fields[6]))


def read_trace(path: str | os.PathLike) -> Trace:
    """The trace events of a profile file, checked: a list of events with at least one ``Node`` event.

    Accepts the JSON array onnxruntime writes (read line by line, ``args`` decoded lazily) and
    any other JSON layout of trace events, including the ``{"traceEvents": [...]}`` object form
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
    lines = text.strip().splitlines()
    trace = None
    if len(lines) > 2 and lines[0].strip() == "[" and lines[-1].strip() == "]":
        trace = Trace.from_lines([line.strip() for line in lines[1:-1]])
    if trace is None:
        events = _parse(text, path)
        try:
            trace = Trace.from_events(events)
        except (ValueError, TypeError, KeyError) as exc:
            raise ProfileError(f"{str(path)!r} holds trace events with fields of the wrong type ({exc}): 'ts' and "
                               f"'dur' must be numbers, 'name' a string, 'args' an object. {_FIX}") from None
    if not (trace.columns["cat"] == "Node").any():
        raise ProfileError(f"{str(path)!r} has no Node events, so there are no kernel timings in it. {_FIX} "
                           "The session must run at least once before end_profiling().")
    return trace


def _parse(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ProfileError(f"{str(path)!r} is JSON nested too deeply to be a profile (trace events are a flat "
                           f"list of objects). {_FIX}") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                           f"it may be cut short or corrupted. {_FIX}") from None
    if isinstance(data, dict) and isinstance(data.get("traceEvents"), list):
        data = data["traceEvents"]
    def is_event(e: Any) -> bool:
        return isinstance(e, dict) and "name" in e and isinstance(e.get("args") or {}, dict)

    if not isinstance(data, list) or not all(is_event(e) for e in data):
        raise ProfileError(f"{str(path)!r} is JSON but not a list of trace events (objects with 'name', 'cat', "
                           f"'ts', 'dur' and an 'args' object). {_FIX}")
    return data


def node_events(trace: Trace) -> dict[str, int]:
    """The nodes a trace times (fence events left out), by name: the position of each one's
    first Node event."""
    names, first = trace.columns["name"], dict[str, int]()
    for i in np.flatnonzero(trace.columns["cat"] == "Node"):
        if not names[i].endswith(_FENCES):
            first.setdefault(names[i].removesuffix(_KERNEL_SUFFIX), int(i))
    return first


def core_table(trace: Trace, warmup: int = 0) -> pd.DataFrame:
    """One row per event (fence events dropped) with the fields every table needs: ``event``
    (position in the file), ``cat``, ``name``, ``ts``, ``dur``, ``pid``, ``tid``, ``node`` (the
    node a Node or Kernel event times), ``run`` (0, 1, … for measured runs; -``warmup`` … -1
    for the warm-up runs; missing outside runs), ``depth`` (0 for the main graph, 1 inside a
    control-flow body, …) and ``parent`` (for a Node event inside a body, the ``event`` of the
    If/Loop/Scan node running it)."""
    names = trace.columns["name"]
    kept = np.flatnonzero([not n.endswith(_FENCES) for n in names])
    table = pd.DataFrame({"event": kept, **{key: column[kept] for key, column in trace.columns.items()}})
    table["node"] = _nodes(table, trace)
    table["run"], table["depth"], table["parent"] = _runs(table, warmup)
    return table


def args_table(trace: Trace, events: Sequence[int]) -> pd.DataFrame:
    """The ``args`` of the given events, flattened into columns, indexed by event number.

    Numeric strings become numbers; ``thread_scheduling_stats`` becomes ``main_thread.*``
    columns plus ``sub_threads`` (how many) and ``sub_threads.num_run`` (their total).
    """
    table = pd.json_normalize([trace.args(i) for i in events], sep=".")
    table.columns = [c.removeprefix("thread_scheduling_stats.") for c in table.columns]
    table.index = pd.Index(list(events), name="event")
    table = _sub_threads(table)
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = _numeric(table[column])
    return table


def event_table(trace: Trace, warmup: int = 0) -> pd.DataFrame:
    """:func:`core_table` with every event's ``args`` as columns (decodes all of them)."""
    core = core_table(trace, warmup)
    args = args_table(trace, core["event"].tolist())
    args = args.drop(columns=[c for c in args.columns if c in core.columns])
    return core.join(args, on="event")
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


def _nodes(table: pd.DataFrame, trace: Trace) -> pd.Series:
    """The node each event times: the name of Node events less ``_kernel_time``; for a device
    Kernel event, the node named in its args, else the Node event listed before it."""
    is_node = table["cat"] == "Node"
    node = table["name"].where(is_node).str.removesuffix(_KERNEL_SUFFIX)
    is_kernel = table["cat"] == "Kernel"
    if is_kernel.any():
        launched_by = node.ffill()
        for i in table.index[is_kernel]:
            args = trace.args(int(table.at[i, "event"]))
            named = args.get("parent_name") or args.get("node_name")
            if named:
                launched_by[i] = str(named).removesuffix(_KERNEL_SUFFIX)
        node = node.where(is_node, launched_by.where(is_kernel))
    return node


def _runs(table: pd.DataFrame, warmup: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Run number, nesting depth and enclosing control-flow node of every event."""
    count = len(table)
    run: list[Any] = [None] * count
    depth: list[Any] = [None] * count
    parent: list[Any] = [None] * count
    cat, name = table["cat"].to_numpy(), table["name"].to_numpy()
    ts, dur, event = table["ts"].to_numpy(), table["dur"].to_numpy(), table["event"].to_numpy()
    kind = np.array([_kind(c, n) for c, n in zip(cat, name)], dtype=object)
    order = _completion_order(ts, dur, kind)
    container = _containers(order, ts, kind)
    # A top-level Execute opens a run, counted in time order; the model_run holding it times the run.
    tops = sorted((i for i in order if kind[i] == "execute"
                   and (container[i] < 0 or kind[container[i]] == "model_run")), key=lambda i: ts[i])
    for number, i in enumerate(tops):
        run[i], depth[i] = number - warmup, 0
        if container[i] >= 0:
            run[container[i]], depth[container[i]] = run[i], 0
    # A container ends after what it holds, so walking back from the last event to end places
    # each container before its contents.
    for i in order[::-1]:
        outer = container[i]
        if run[i] is not None or outer < 0 or run[outer] is None:
            continue  # a run's top level (placed above), or outside every run
        if kind[i] == "execute":  # a body, run by the control-flow node holding it
            run[i], depth[i] = run[outer], depth[outer] + 1
        else:
            run[i], depth[i] = run[outer], depth[outer]
            if container[outer] >= 0 and kind[container[outer]] == "node":
                parent[i] = event[container[outer]]
    # A device kernel belongs to the run of the node that launched it (its clock is the device's).
    last_run = last_depth = None
    for i in range(count):
        if cat[i] == "Node":
            last_run, last_depth = run[i], depth[i]
        elif cat[i] == "Kernel":
            run[i], depth[i] = last_run, last_depth
    return tuple(pd.Series(values, index=table.index, dtype="Int64") for values in (run, depth, parent))


#: What each kind of event directly holds: a run its top-level Execute, an Execute the kernels
#: of one graph, a control-flow node's kernel event the Executes of the bodies it ran.
_HOLDS = {"model_run": "execute", "execute": "node", "node": "execute"}


def _kind(cat: str, name: str) -> str:
    """The event's part in the nesting (a key of ``_HOLDS``), or "" for events outside it."""
    if cat == "Node":
        return "node"
    if cat == "Session" and name.endswith("Executor::Execute"):
        return "execute"
    return "model_run" if cat == "Session" and name == "model_run" else ""


def _containers(order: np.ndarray, ts: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """For each event in ``order`` (positions, in the order the events ended), the position of
    the event directly holding it (-1: none).

    Timestamps alone cannot tell this nesting: they are whole microseconds, so an If, its
    body's Execute and the body's first kernel can start in the same microsecond, the node after
    the If can start in the microsecond the If's body ended, and a body can end a microsecond
    after the If holding it. The order of completion can: an event that ended before ``e`` and
    started no earlier lies inside ``e``. Walked in that order, the events ``e`` holds are the
    latest finished ones of the kind it holds that start at or after it, and they sit on top of
    a stack of the events not yet placed in one. (Only a kernel shorter than a microsecond, run
    in the microsecond in which the next node's body starts, would be taken into that body.)
    """
    container = np.full(len(ts), -1)
    unplaced: list[int] = []
    for i in order:
        held = _HOLDS[kind[i]]
        while unplaced and kind[unplaced[-1]] == held and ts[unplaced[-1]] >= ts[i]:
            container[unplaced.pop()] = i
        unplaced.append(i)
    return container


def _completion_order(ts: np.ndarray, dur: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """The positions of the events in the nesting (those with a ``kind``), in the order they ended.

    onnxruntime writes each event when it ends, so the file's order is that order: each of its
    kernel and Execute events ends, truncated to whole microseconds from start and duration, at
    most 1 µs before the latest end listed before it. (A model_run's end is not checked: it
    closes the run listed before it wherever it ends, so a file with run latencies edited keeps
    its order.) A file in another order (sorted by start by some trace tool) is sorted by end,
    which can misplace events that end within the same microsecond.
    """
    events = np.flatnonzero(kind != "")
    checked = np.flatnonzero((kind == "node") | (kind == "execute"))
    ends = ts[checked] + dur[checked]
    if (ends >= np.maximum.accumulate(ends) - 1).all():
        return events
    return events[np.lexsort((-ts[events], ts[events] + dur[events]))]
