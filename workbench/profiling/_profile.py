"""``wb.profile``: per-kernel latencies from onnxruntime's profiler, tied back to the authored graph.

One session, profiling on, runs the model ``warmup + runs`` times; the warm-up runs are
dropped. The session also saves the graph it optimized and ran, so that every profiled
kernel — fused ones included — is mapped to the authored nodes it replaced
(:mod:`._fused`). Times are in microseconds. A run's *overhead* is its ``model_run``
time less its kernels' time: input/output binding, allocation, scheduling.
"""

from __future__ import annotations

import glob
import html
import json
import os
import re
import shutil
import tempfile
import weakref
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ProfileError, ProviderError, UsageError
from ..graph import write_html
from ..model import Model, as_model
from ..runtime.internal import (
    ALIASES,
    CPU,
    LEVELS,
    check_level,
    check_runnable,
    cores,
    input_specs,
    make_feeds,
    open_optimized,
    optimized,
    resolve,
)
from ._events import _FIX, Trace, args_table, core_table, event_table, node_events, read_trace
from ._fused import MAPPINGS, map_nodes
from ._record import record

#: Providers whose kernels return before the device is done: a kernel's time is its launch.
#: (OpenVINO's compiled subgraph on a CPU returns with its results: its time is its work.)
_ASYNCHRONOUS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider", "NvTensorRTRTXExecutionProvider",
                           "ROCMExecutionProvider", "MIGraphXExecutionProvider", "DmlExecutionProvider",
                           "WebGpuExecutionProvider"})
#: The op name onnxruntime profiles a provider's compiled subgraph under: ``OpenVINO-EP-subgraph_1``.
_SUBGRAPH = re.compile(r"subgraph_(\d+)$")

if TYPE_CHECKING:
    from ..widgets import GraphView
    from ._plot import ProfilePlots

#: Run latency varies "widely" when its p90 exceeds the median by this factor.
SPREAD_LIMIT = 1.5
#: The machine is "loaded" when the 1-minute load average exceeds this share of its cores.
LOAD_LIMIT = 0.75
#: The row of :attr:`Profile.scopes` that is the whole model (every scope rolled up).
MODEL_SCOPE = "(model)"
#: The legend of the latency overlay.
LATENCY_LABEL = "latency (µs)"


class Profile:
    """Kernel timings of one profiled session, per node, op, provider, scope and run.

    Make one with :func:`profile` (runs the model) or :func:`read_profile` (reads a file).
    Tables, computed on first use: :attr:`nodes`, :attr:`ops`, :attr:`providers`,
    :attr:`scopes`, :attr:`runs`, :attr:`events`, :attr:`placement`, :attr:`authored`.
    Plots: ``p.plot.top()``, ``.ops()``, ``.timeline()``, ``.roofline()``.
    """

    def __init__(self, trace: Trace, *, model: Model | None, optimized: Model | None, warmup: int = 0,
                 label: str = "profile", notes: Sequence[str] = (), assignment: pd.DataFrame | None = None,
                 requested: Sequence[str] | None = None, file: str | os.PathLike | None = None,
                 workdir: str | os.PathLike | None = None, isolated: bool = False) -> None:
        self._trace = trace
        #: The model as authored (what ``authored`` and the graph overlay refer to).
        self.model = model
        #: The graph onnxruntime ran, as it saved it (None when unknown).
        self.optimized = optimized
        #: Warm-up runs dropped from every table (``events`` keeps them, with negative run numbers).
        self.warmup = warmup
        #: A short description: model, provider, optimization level.
        self.label = label
        self._notes = list(notes)  # warnings found while recording (machine load, provider lacking)
        #: The profile file onnxruntime wrote (kept while the profile lives), or the one read.
        self.file = None if file is None else Path(file)
        self._assignment = assignment
        self._requested = list(requested) if requested else None
        #: Whether the session ran in a worker process (``profile(isolate=...)``).
        self.isolated = isolated
        if workdir is not None:  # the recorded file and the optimized model's weights go with the profile
            weakref.finalize(self, shutil.rmtree, workdir, ignore_errors=True)
        if self._timed.empty:
            runs = int(self._core.loc[self._core["cat"] == "Session", "run"].nunique())
            if runs == 0:
                raise ProfileError(f"{self.file or 'The profile'} has kernel (Node) events but no run: no "
                                   "SequentialExecutor::Execute session event marks where a run starts and ends, so "
                                   f"no kernel can be placed in one. {_FIX}")
            raise ProfileError(f"{self.file or 'The profile'} holds {runs} run(s) and warmup={warmup} drops them "
                               "all: lower warmup (runs to drop from the start).")

    # ---- tables ----------------------------------------------------------------------
    @cached_property
    def events(self) -> pd.DataFrame:
        """Every event of the file (fence events dropped), ``args`` flattened into columns.

        Columns: ``cat`` (``Node``, ``Session``, ``Kernel``), ``name``, ``ts``, ``dur`` (µs),
        ``pid``, ``tid``, the args (``op_name``, ``provider``, ``input_type_shape``,
        ``output_type_shape``, sizes, ``mem_*``, ``main_thread.*`` …, numeric strings as
        numbers), ``event`` (position in the file), ``node``, ``run`` (0, 1, …; negative for
        warm-up runs), ``depth`` (0 in the main graph, 1 inside a control-flow body, …) and
        ``parent`` (for a kernel inside a body, the ``event`` of the If/Loop/Scan running it).
        """
        return event_table(self._trace, self.warmup)

    @cached_property
    def _core(self) -> pd.DataFrame:
        """Every event's timing and place (``events`` without the args): what most tables need."""
        return core_table(self._trace, self.warmup)

    @cached_property
    def _timed(self) -> pd.DataFrame:
        """Node events of the measured runs; the args (op, provider, shapes, sizes) are read
        for each node's first event only, since they do not change from run to run."""
        core = self._core
        timed = core[(core["cat"] == "Node") & (core["run"] >= 0)]
        first = timed.drop_duplicates("node")["event"].tolist()
        return timed.join(args_table(self._trace, first), on="event")

    @cached_property
    def _mapping(self) -> pd.DataFrame:
        names = list(dict.fromkeys(self._timed["node"]))
        if self.model is None:
            return pd.DataFrame({"authored": [[] for _ in names], "mapping": "unmapped", "inputs": None},
                                index=pd.Index(names, name="node"))
        mapping = map_nodes(self.model, self.optimized, names)
        blocks = self._compiled_blocks(mapping.index[mapping["mapping"] == "unmapped"])
        if blocks:
            mapping["authored"] = [blocks.get(name, ids) for name, ids in mapping["authored"].items()]
            mapping.loc[list(blocks), "mapping"] = "compiled"
        return mapping

    def _compiled_blocks(self, names: Iterable[str]) -> dict[str, list[str]]:
        """The authored nodes each compiled subgraph covers, by the profiled name of its kernel:
        a provider's ``…-subgraph_N`` kernels, in the order of N (a count over the process, not
        the session), are that provider's subgraphs in onnxruntime's assignment record."""
        if self._assignment is None or "subgraph" not in self._assignment or self.model is None:
            return {}
        first = self._timed.drop_duplicates("node").set_index("node")
        numbered: dict[str, list[tuple[int, str]]] = {}
        for name in names:
            found = _SUBGRAPH.search(str(first.at[name, "op_name"]))
            if found is not None:
                numbered.setdefault(str(first.at[name, "provider"]), []).append((int(found[1]), name))
        authored = self.model.records_by_id
        blocks = {}
        for provider, kernels in numbered.items():
            for index, (_, name) in enumerate(sorted(kernels), start=1):
                rows = self._assignment[(self._assignment["provider"] == provider)
                                        & (self._assignment["subgraph"] == index)]
                covered = [n for n in rows.index if n in authored]
                if covered:
                    blocks[name] = covered
        return blocks

    @cached_property
    def _sized(self) -> Model | None:
        """The authored model with its symbolic input dims set to the sizes the profile ran with,
        so FLOPs come out concrete."""
        if self.model is None:
            return None
        symbolic = {name: shape for name, (_, shape) in input_specs(self.model).items()
                    if any(isinstance(d, str) for d in shape)}
        if not symbolic or "input_type_shape" not in self._timed:  # a trace without shapes: sizes stay symbolic
            return self.model
        dims: dict[str, int] = {}
        first = self._timed.groupby("node", sort=False)["input_type_shape"].first()
        for node, inputs in self._mapping["inputs"].items():
            shapes = _shapes(first.get(node))
            if not inputs or len(inputs) != len(shapes):
                continue
            for value, shape in zip(inputs, shapes):
                for want, got in zip(symbolic.get(value, ()), shape):
                    if isinstance(want, str):
                        dims[want] = got
        if not dims:
            return self.model
        return self.model.with_dims(dims)

    @cached_property
    def _authored_table(self) -> pd.DataFrame:
        """The authored nodes (``Model.nodes``) at the sizes profiled; empty without a model.
        Read from one model only: shape inference is its costly part."""
        return self._sized.nodes if self._sized is not None else pd.DataFrame(columns=["op_type", "scope", "flops"])

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per kernel onnxruntime ran (its profiled node name), in execution order.

        Columns: ``op``, ``provider``, ``calls`` (per run), ``median_us``, ``mean_us``,
        ``p90_us``, ``min_us``, ``std_us`` (over runs), ``self_us`` (median, less the kernels of
        the bodies an If/Loop/Scan ran), ``share`` (of the main graph's median kernel time),
        ``input_shapes``, ``output_shapes``, ``flops`` (static, summed over the
        authored nodes it covers), ``bytes`` (inputs, weights and outputs it touched, from the
        profile), ``gflops`` (achieved GFLOP/s at the median), ``scope`` (the module holding
        every authored node it covers), ``authored`` (those node ids), ``mapping`` (``exact``,
        ``tensors``, ``name`` or ``unmapped``: see :mod:`workbench.profiling`) and ``depth`` (0 in
        the main graph, 1 in a control-flow body, …). With device ``Kernel``
        events (CUDA builds with profiling): ``kernels`` and ``device_us`` per run.
        """
        timed = self._timed
        first = timed.groupby("node", sort=False).first()  # execution order
        per_run = timed.pivot_table(index="node", columns="run", values="dur", aggfunc="sum", fill_value=0)
        table = pd.DataFrame({"op": first["op_name"], "provider": first.get("provider")}, index=first.index)
        table["calls"] = timed.groupby(["node", "run"]).size().groupby("node").median()
        table = table.join(_stats(per_run))
        # Exclusive time: a control-flow node's own, less the kernels of the bodies it ran.
        inner = timed.groupby("parent")["dur"].sum()
        exclusive = timed.assign(dur=timed["dur"] - timed["event"].map(inner).fillna(0))
        table["self_us"] = exclusive.pivot_table(index="node", columns="run", values="dur", aggfunc="sum",
                                                 fill_value=0).median(axis=1)
        main = first["depth"] == 0
        table["share"] = table["median_us"] / table.loc[main, "median_us"].sum()
        table["input_shapes"] = first["input_type_shape"].map(_shapes) if "input_type_shape" in first else None
        table["output_shapes"] = first["output_type_shape"].map(_shapes) if "output_type_shape" in first else None
        mapping = self._mapping
        flops, scopes = self._authored_table["flops"].to_dict(), self._authored_table["scope"].to_dict()
        table["flops"] = mapping["authored"].map(lambda ids: sum(flops[i] for i in ids) if ids else np.nan)
        sizes = [c for c in ("activation_size", "parameter_size", "output_size") if c in first]
        table["bytes"] = first[sizes].sum(axis=1, min_count=1) if sizes else np.nan
        table["gflops"] = table["flops"] / table["median_us"].where(table["median_us"] > 0) / 1e3
        table["scope"] = mapping["authored"].map(
            lambda ids: "/".join(os.path.commonprefix([scopes[i].split("/") if scopes[i] else [] for i in ids])))
        table["authored"] = mapping["authored"]
        table["mapping"] = mapping["mapping"]
        table["depth"] = first["depth"].astype(int)
        kernels = self._core[(self._core["cat"] == "Kernel") & (self._core["run"] >= 0)]
        if not kernels.empty:
            device = kernels.groupby(["node", "run"])["dur"].agg(["size", "sum"]).groupby("node").median()
            table["kernels"] = device["size"].reindex(table.index).fillna(0)
            table["device_us"] = device["sum"].reindex(table.index).fillna(0)
        table.index.name = "node"
        return table

    @cached_property
    def authored(self) -> pd.Series:
        """Median time per *authored* node id (µs): what the graph overlay shows.

        A kernel covering several authored nodes (a fusion) has its time spread over them by
        their static FLOPs, or in equal shares when any of their FLOPs is unknown or all are 0.
        Control-flow nodes count their own time only (``self_us``), so the values add up to
        the kernel time. Authored nodes no kernel covers (folded constants, …) are absent.
        """
        spread: dict[str, float] = {}
        flops = self._authored_table["flops"].to_dict()
        for ids, time in zip(self.nodes["authored"], self.nodes["self_us"]):
            if not ids:
                continue
            weights = np.array([flops[i] for i in ids], float)
            if np.isnan(weights).any() or weights.sum() <= 0:
                weights = np.ones(len(ids))
            for node_id, share in zip(ids, weights / weights.sum()):
                spread[node_id] = spread.get(node_id, 0.0) + time * share
        order = [n for n in self._authored_table.index if n in spread]
        return pd.Series(spread, dtype=float).reindex(order).rename("median_us")

    @cached_property
    def mapping_rate(self) -> dict[str, float]:
        """Share of kernels tied to authored nodes, by ``count`` and by main-graph kernel ``time``."""
        nodes = self.nodes
        mapped = nodes["mapping"] != "unmapped"
        main = nodes["depth"] == 0
        total = nodes.loc[main, "median_us"].sum()
        return {"count": float(mapped.mean()),
                "time": float(nodes.loc[main & mapped, "median_us"].sum() / total) if total else 1.0}

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per measured run: ``latency_us`` (its ``model_run`` event), ``execute_us``
        (the executor's part), ``kernel_us`` (main-graph kernels, summed), ``overhead_us``
        (latency less kernels), ``kernels`` (main-graph kernel events); with device events,
        ``device_us``."""
        events = self._core[self._core["run"] >= 0]
        session = events[events["cat"] == "Session"]
        executes = session[session["name"].str.endswith("Executor::Execute")]
        top = events[(events["cat"] == "Node") & (events["depth"] == 0)].groupby("run")["dur"]
        table = pd.DataFrame({
            "latency_us": session[session["name"] == "model_run"].groupby("run")["dur"].sum(),
            "execute_us": executes[executes["depth"] == 0].groupby("run")["dur"].first(),
            "kernel_us": top.sum(),
            "kernels": top.size(),
        })
        table["latency_us"] = table["latency_us"].fillna(table["execute_us"])
        table["overhead_us"] = table["latency_us"] - table["kernel_us"]
        device = events[events["cat"] == "Kernel"]
        if not device.empty:
            table["device_us"] = device.groupby("run")["dur"].sum()
        table.index = table.index.astype(int).rename("run")
        return table[[c for c in ("latency_us", "execute_us", "kernel_us", "overhead_us", "kernels", "device_us")
                      if c in table]]

    @cached_property
    def latency(self) -> dict[str, float]:
        """Run latency over the measured runs (µs): ``median``, ``p90``, ``min``, ``mean``."""
        latency = self.runs["latency_us"]
        return {"median": float(latency.median()), "p90": float(latency.quantile(0.9)),
                "min": float(latency.min()), "mean": float(latency.mean())}

    def _rollup(self, key: str) -> pd.DataFrame:
        nodes = self.nodes[self.nodes["depth"] == 0]
        grouped = nodes.groupby(key, sort=False)
        table = pd.DataFrame({"kernels": grouped.size(), "median_us": grouped["median_us"].sum(),
                              "mean_us": grouped["mean_us"].sum()})
        table["share"] = table["median_us"] / table["median_us"].sum()
        table["flops"] = grouped["flops"].sum(min_count=1)
        table["gflops"] = table["flops"] / table["median_us"].where(table["median_us"] > 0) / 1e3
        if "device_us" in nodes:
            table["device_us"] = grouped["device_us"].sum()
        return table.sort_values("median_us", ascending=False)

    @cached_property
    def ops(self) -> pd.DataFrame:
        """Per op type as onnxruntime ran it (fused ops included): kernels, summed median and mean
        time, share, static FLOPs and achieved GFLOP/s (main graph), slowest first."""
        return self._rollup("op")

    @cached_property
    def providers(self) -> pd.DataFrame:
        """Per execution provider: kernels, summed median and mean time, share, FLOPs, GFLOP/s."""
        return self._rollup("provider")

    @cached_property
    def scopes(self) -> pd.DataFrame:
        """Time per module/scope of the authored graph, rolled up the hierarchy.

        Index: scope path (``"(model)"`` is the whole model). Columns: ``depth``, ``median_us`` (the
        scope and everything inside it, from :attr:`authored`), ``self_us`` (its own nodes
        only), ``share`` and ``nodes`` (authored nodes with time). Kernels mapped to no
        authored node are the row ``"(unmapped)"``.
        """
        authored = self.authored
        scope = self._authored_table["scope"].reindex(authored.index)
        total: dict[str, float] = {}
        count: dict[str, int] = {}
        for path, time in zip(scope, authored):
            parts = path.split("/") if path else []
            for depth in range(len(parts) + 1):
                key = "/".join(parts[:depth]) or MODEL_SCOPE
                total[key] = total.get(key, 0.0) + time
                count[key] = count.get(key, 0) + 1
        table = pd.DataFrame({"median_us": pd.Series(total, dtype=float), "nodes": pd.Series(count, dtype=int)})
        own = authored.groupby(scope.replace("", MODEL_SCOPE).to_numpy()).sum()
        table["self_us"] = own.reindex(table.index).fillna(0.0)
        table["depth"] = [0 if k == MODEL_SCOPE else len(k.split("/")) for k in table.index]
        unmapped = self.nodes.loc[self.nodes["mapping"] == "unmapped", "self_us"].sum()
        if unmapped:
            table.loc["(unmapped)"] = {"median_us": unmapped, "nodes": 0, "self_us": unmapped, "depth": 0}
        whole = table.at[MODEL_SCOPE, "median_us"] if MODEL_SCOPE in table.index else 0.0
        table["share"] = table["median_us"] / (whole + unmapped)
        table.index.name = "scope"
        return table.sort_index()[["depth", "median_us", "self_us", "share", "nodes"]]

    @cached_property
    def placement(self) -> pd.DataFrame:
        """Which provider took each node: onnxruntime's own assignment record where it has one
        (``source="assigned"``, nodes as partitioned, before fusions), else the profile
        (``source="profile"``). Columns: ``op_type``, ``provider``, ``source``, ``executed`` (has
        a profiled kernel), ``memcpy`` (a copy between devices that onnxruntime inserted) and
        ``fallback`` (left to the CPU while an accelerator was asked for)."""
        nodes = self.nodes
        profiled = pd.DataFrame({"op_type": nodes["op"], "provider": nodes["provider"], "source": "profile"})
        if self._assignment is not None:
            profiled = pd.concat([self._assignment[["op_type", "provider"]].assign(source="assigned"),
                                  profiled[~profiled.index.isin(self._assignment.index)]])
        profiled["executed"] = profiled.index.isin(nodes.index)
        profiled["memcpy"] = profiled["op_type"].astype(str).str.startswith("Memcpy")
        primary = self._primary_provider()
        profiled["fallback"] = (primary != CPU) & (profiled["provider"] == CPU) & ~profiled["memcpy"]
        profiled.index.name = "node"
        return profiled

    def _primary_provider(self) -> str:
        if self._requested:
            return self._requested[0]
        seen = [p for p in self.nodes["provider"].dropna().unique() if p != CPU]
        return seen[0] if seen else CPU

    # ---- honesty -------------------------------------------------------------------------
    @cached_property
    def warnings(self) -> list[str]:
        """Why the timings may mislead: a loaded machine, widely varying runs, kernel time not
        mapped to authored nodes, accelerator kernels timed at launch, nodes left to the CPU
        under an accelerator."""
        found = list(self._notes)
        latency = self.latency
        if len(self.runs) > 1 and latency["p90"] > SPREAD_LIMIT * latency["median"]:
            found.append(f"run latency varies widely (p90 {latency['p90']:.0f} µs is "
                         f"{latency['p90'] / latency['median']:.1f}× the median): close other work, set threads, "
                         "or use more runs; compare medians and minimums, not means")
        rate = self.mapping_rate["time"]
        if self.model is not None and rate < 0.95:
            found.append(f"only {rate:.0%} of kernel time maps to authored nodes"
                         + ("" if self.optimized is not None else
                            ": without the optimized graph, fused kernels map by name only (pass optimized=)"))
        accelerated = sorted(set(self.nodes["provider"].dropna()) & _ASYNCHRONOUS)
        if accelerated and "device_us" not in self.nodes:
            found.append(f"kernels on {', '.join(accelerated)} run asynchronously: their times are host-side "
                         "launch times, and the device's work shows up as overhead; for device time use an "
                         "onnxruntime build with CUDA profiling (Kernel events) or Nsight Systems")
        placement = self.placement
        fallback = placement[placement["fallback"]]
        if len(fallback):
            ops = ", ".join(fallback["op_type"].astype(str).value_counts().index[:6])
            found.append(f"{len(fallback)} node(s) fell back to {CPU} under {self._primary_provider()} ({ops}); "
                         f"with {int(placement['memcpy'].sum())} Memcpy node(s) copying between devices")
        return found

    # ---- display ---------------------------------------------------------------------------
    def _lines(self) -> list[tuple[str, str]]:
        lat, runs = self.latency, self.runs
        kernel, overhead = runs["kernel_us"].median(), runs["overhead_us"].median()
        whole = kernel + overhead
        lines = [
            ("run latency", f"median {lat['median']:,.0f} µs · p90 {lat['p90']:,.0f} µs · min {lat['min']:,.0f} µs"
                            f" ({len(runs)} runs, {self.warmup} warm-up dropped)"),
            ("kernels vs overhead", f"{kernel:,.0f} µs in kernels ({kernel / whole:.0%}) · {overhead:,.0f} µs "
                                    f"framework overhead ({overhead / whole:.0%}) per run, medians"),
            ("top ops", " · ".join(f"{op} {share:.0%}" for op, share in self.ops["share"].head(5).items())),
            ("top nodes", " · ".join(f"{name} ({row.op}) {row.median_us:,.0f} µs"
                                     for name, row in self.nodes.nlargest(3, "median_us").iterrows())),
        ]
        rate, counts = self.mapping_rate, self.nodes["mapping"].value_counts()
        lines.append(("mapped to authored nodes",
                      f"{int((self.nodes['mapping'] != 'unmapped').sum())}/{len(self.nodes)} kernels "
                      f"({rate['count']:.0%}), {rate['time']:.1%} of kernel time · "
                      + ", ".join(f"{counts.get(k, 0)} {k}" for k in MAPPINGS)))
        placed = self.placement[self.placement["executed"]]["provider"].value_counts()
        lines.append(("placement", ", ".join(f"{n} kernels on {p}" for p, n in placed.items())))
        lines.extend(("warning", w) for w in self.warnings)
        return lines

    def summary(self) -> str:
        """The summary as text: latency, kernel time vs overhead, top ops, mapping, warnings."""
        lines = self._lines()
        width = max(len(k) for k, _ in lines)
        return "\n".join([f"Profile: {self.label}"] + [f"  {k:<{width}}  {v}" for k, v in lines])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self._lines())
        top = self.nodes.nlargest(10, "median_us")[["op", "provider", "median_us", "p90_us", "min_us", "share",
                                                    "scope", "mapping"]]
        return (f"<p><b>Profile: {html.escape(self.label)}</b></p><table>{rows}</table>"
                f"<p>Slowest kernels</p>{top.to_html(float_format=lambda v: f'{v:.3g}')}")

    def view(self, *, height: int = 560) -> "GraphView":
        """The authored graph coloured by latency: each node by its share of the kernels
        that ran it (``authored``), collapsed groups by their slowest node."""
        if self.model is None:
            raise ProfileError("This profile has no model to draw: read it with read_profile(path, model=m).")
        view = self.model.view(height=height)
        view.set_overlay(self.authored, label=LATENCY_LABEL)
        return view

    def to_html(self, path: str | os.PathLike) -> Path:
        """Writes the profile as ONE self-contained HTML file (``.html``, no network): the
        authored graph coloured by latency, as :meth:`view` draws it, beside the kernels slowest
        first, where a click on a row selects the authored node the kernel ran. Returns the path."""
        if self.model is None:
            raise ProfileError("This profile has no model to draw: read it with read_profile(path, model=m).")
        index = self.model.view_index
        kernels = self.nodes.reset_index().sort_values("median_us", ascending=False)
        kernels.insert(0, "graph_node", kernels["authored"].map(lambda ids: ids[0] if ids else None))
        shown = [c for c in ("graph_node", "node", "op", "provider", "median_us", "p90_us", "share", "scope",
                             "mapping") if c in kernels.columns]
        return write_html(path, index, overlay=index.overlay(self.authored, LATENCY_LABEL),
                          table=kernels[shown], table_title=f"Kernels of {self.label}, slowest first",
                          node_column="graph_node")

    @cached_property
    def plot(self) -> "ProfilePlots":
        """Plots as matplotlib Figures: ``top(n)``, ``ops()``, ``timeline(run)``, ``roofline()``."""
        from ._plot import ProfilePlots

        return ProfilePlots(self)

    # ---- export -----------------------------------------------------------------------------
    def to_chrome_trace(self, path: str | os.PathLike) -> Path:
        """Writes the measured runs' events (warm-ups left out) as a Chrome trace JSON file:
        open it in Perfetto (ui.perfetto.dev) or chrome://tracing, or again with
        :func:`read_profile`. Returns the path."""
        events = self._core
        kept = events.loc[~(events["run"] < 0).fillna(False), "event"]
        path = Path(path)
        path.write_text(json.dumps([self._trace.event(int(i)) for i in kept]), encoding="utf-8")
        return path


def _stats(per_run: pd.DataFrame) -> pd.DataFrame:
    """Median, mean, p90, min and std of each row's per-run times."""
    return pd.DataFrame({"median_us": per_run.median(axis=1), "mean_us": per_run.mean(axis=1),
                         "p90_us": per_run.quantile(0.9, axis=1), "min_us": per_run.min(axis=1),
                         "std_us": per_run.std(axis=1)})


def _shapes(value: Any) -> list[tuple]:
    """``[{"float": [1, 16]}, …]`` (onnxruntime's ``*_type_shape``) as ``[(1, 16), …]``."""
    if not isinstance(value, list):
        return []
    return [tuple(dims) for entry in value for dims in entry.values()]


# ---- making profiles ----------------------------------------------------------------------------
def profile(model: Any, inputs: Mapping[str, Any] | None = None, *, provider: str | Sequence[str] = "cpu",
            optimization: str = "all", runs: int = 20, warmup: int = 3, threads: int = 0,
            dims: Mapping[str, int] | None = None, isolate: bool | None = None) -> Profile:
    """Runs ``model`` under onnxruntime's profiler and returns per-kernel timings.

    Args:
        model: a :class:`~workbench.Model`, or anything :func:`workbench.open` accepts.
        inputs: feeds by input name (default: :func:`workbench.random_inputs`, with ``dims``).
        provider: ``"cpu"``, ``"cuda"``, … or a list of onnxruntime provider names.
        optimization: onnxruntime's graph optimization level: ``"disabled"``, ``"basic"``,
            ``"extended"``, ``"layout"`` or ``"all"`` (what a deployed session does).
        runs: measured runs.
        warmup: runs before them, dropped (first-run allocations, cold caches).
        threads: intra-op threads (0: onnxruntime's default, one per core).
        dims: sizes of symbolic input dimensions for the random inputs.
        isolate: run the session in a worker process, so that a native crash of onnxruntime
            raises :class:`~workbench.errors.SessionError` instead of killing this process.
            By default, models that fail ``onnx.checker`` are isolated. The kernels' timings
            are the same either way: the session runs alike in the worker.

    One session at a time: two sessions' thread pools competing for the cores skew both.
    Progress shows when the runs take more than a few seconds.
    """
    m = as_model(model)
    check_level(optimization)
    if runs < 1 or warmup < 0:
        raise UsageError(f"runs must be at least 1 and warmup at least 0, not runs={runs}, warmup={warmup}.")
    providers = resolve(provider)
    if not providers:
        raise ProviderError("Profiling times onnxruntime's kernels: the reference evaluator has none. "
                            "Use provider='cpu' (or another of wb.providers()).")
    check_runnable(m.proto.graph)
    feeds = make_feeds(m, inputs, dims=dims)
    folder = Path(tempfile.mkdtemp(prefix="workbench-profile-"))  # removed with the Profile
    isolated = bool(m.problems) if isolate is None else isolate
    notes = _load_warnings("start")
    try:
        recorded = record(str(m.path) if m.path is not None else m.proto.SerializeToString(), feeds,
                          level=optimization, threads=threads, providers=providers, problems=m.problems,
                          count=warmup + runs, folder=folder, isolate=isolated)
        trace = read_trace(recorded["file"])
    except ProfileError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ProfileError(f"onnxruntime timed no kernel in {runs + warmup} run(s) of {m.name or 'the model'} at "
                           f"optimization {optimization!r}: it ran no node (a graph whose outputs are all "
                           "constants folds away entirely). Profile it with optimization='disabled', or check "
                           f"the graph's outputs depend on its inputs. ({exc})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    notes += [n for n in _load_warnings("end") if n not in notes]
    short = next((k for k, v in ALIASES.items() if v == providers[0]), providers[0])
    rows = recorded["assignment"]
    assignment = None if rows is None else pd.DataFrame(
        rows, columns=["node", "op_type", "provider", "subgraph"]).drop_duplicates("node").set_index("node")
    saved = folder / "optimized.onnx"  # none where a provider compiled subgraphs
    return Profile(trace, model=m, optimized=open_optimized(saved) if saved.exists() else None,
                   warmup=warmup, label=f"{m.name or 'model'} on {short}, optimization {optimization!r}",
                   notes=notes, assignment=assignment, requested=providers, file=recorded["file"],
                   workdir=folder, isolated=isolated)


def _load_warnings(when: str) -> list[str]:
    """A warning when the machine is busy: other work shares the cores and inflates timings."""
    if not hasattr(os, "getloadavg"):
        return []
    load, usable = os.getloadavg()[0], cores()
    if load <= LOAD_LIMIT * usable:
        return []
    return [f"the machine was busy at the {when} (load average {load:.1f} on {usable} cores): timings are "
            "inflated and noisy; profile on an idle machine"]


def read_profile(path: str | os.PathLike, model: Any = None, optimized: Model | str | os.PathLike | None = None, *,
                 warmup: int = 0) -> Profile:
    """Loads a profile someone else recorded (``onnxruntime_profile_*.json``).

    Args:
        path: the file, or a glob pattern (the newest matching file is read).
        model: the model as authored (a Model or anything :func:`workbench.open` accepts);
            without it, kernels are not mapped to authored nodes.
        optimized: the graph onnxruntime ran (saved with ``optimized_model_filepath``), or an
            optimization level that rebuilds it here (from ``model``). By default, it is rebuilt at the level
            whose node names match the profile's (``all`` first), on the profile's providers
            where this onnxruntime has them.
        warmup: runs at the start of the file to drop.

    Raises :class:`ProfileError` for a missing, empty, corrupted or non-profile file.
    """
    path = _newest(path)
    trace = read_trace(path)
    m = None if model is None else as_model(model)
    notes: list[str] = []
    if isinstance(optimized, Model):
        graph = optimized
    elif optimized is not None and not (isinstance(optimized, str) and optimized in LEVELS):
        graph = open_optimized(optimized)
    elif m is None:  # a level rebuilds the graph from the authored model, which is not given
        graph = None
    else:
        levels = [optimized] if optimized else [level for level in reversed(LEVELS) if level != "disabled"]
        graph = _rebuild_optimized(m, trace, levels, notes)
    label = f"{m.name if m is not None and m.name else 'profile'} from {path.name}"
    return Profile(trace, model=m, optimized=graph, warmup=warmup, label=label, notes=notes, file=path)


def _newest(pattern: str | os.PathLike) -> Path:
    text = os.fspath(pattern)
    if not glob.has_magic(text):
        return Path(text)
    matches = glob.glob(text)
    if not matches:
        raise ProfileError(f"No file matches {text!r}. onnxruntime names its profiles "
                           "<profile_file_prefix>_<date>_<time>.json; check the folder and the pattern.")
    return Path(max(matches, key=os.path.getmtime))


def _rebuild_optimized(model: Model, trace: Trace, levels: Sequence[str], notes: list[str]) -> Model | None:
    """The graph onnxruntime ran for a profile, rebuilt here: at the first of ``levels`` whose
    node names include every profiled name (None when the authored graph already does)."""
    first = node_events(trace)
    names = set(first)
    ids = set(model.records_by_id)  # node ids without Model.nodes: no shape inference needed here
    if names <= ids:
        return None
    seen = {str(p) for i in first.values() if (p := trace.args(i).get("provider")) is not None}
    try:
        providers = resolve(sorted(seen - {CPU}) or [CPU])
    except ProviderError:
        providers = [CPU]
        notes.append(f"the profile ran on {', '.join(sorted(seen))}, which this onnxruntime lacks: the optimized "
                     f"graph was rebuilt for {CPU}, so nodes specific to those providers may stay unmapped; pass "
                     "optimized= the graph saved where the profile was recorded")
    best, best_found = None, -1
    for level in levels:
        graph = optimized(model, level, providers)
        found = len(names & ({n.name for n in graph.proto.graph.node} | ids))
        if found == len(names):
            return graph
        if found > best_found:
            best, best_found = graph, found
    notes.append(f"no optimization level rebuilt every profiled node here ({best_found}/{len(names)} found): pass "
                 "optimized= the graph saved where the profile was recorded (SessionOptions.optimized_model_filepath)")
    return best


def profile_compare(a: Profile, b: Profile, by: str = "node") -> pd.DataFrame:
    """Two profiles side by side, per authored node (``"node"``), op type (``"op"``) or scope (``"scope"``).

    Columns: ``a_us`` and ``b_us`` (median µs; 0 where that profile spent no time),
    ``delta_us`` (b − a) and ``speedup`` (a / b: above 1, ``b`` is faster; NaN where ``b``
    spent no time), slowest first. By node, rows are authored node ids — fused kernels'
    time spread over the nodes they replaced, so ``"disabled"`` and ``"all"`` line up —
    with ``op_type`` and ``scope``. ``attrs["a"]`` and ``attrs["b"]`` are the profiles' labels.
    """
    columns = {"node": lambda p: p.authored, "op": lambda p: p.ops["median_us"],
               "scope": lambda p: p.scopes["median_us"]}
    if by not in columns:
        raise UsageError(f"by must be one of {list(columns)}, not {by!r}.")
    table = pd.concat({"a_us": columns[by](a), "b_us": columns[by](b)}, axis=1).fillna(0.0)
    table["delta_us"] = table["b_us"] - table["a_us"]
    table["speedup"] = table["a_us"] / table["b_us"].where(table["b_us"] > 0)
    if by == "node":
        table = table.join(a._authored_table[["op_type", "scope"]])
    table = table.loc[table[["a_us", "b_us"]].max(axis=1).sort_values(ascending=False, kind="stable").index]
    table.attrs.update(a=a.label, b=b.label)
    return table
