"""Plots of a :class:`~workbench.profiling.Profile`, each a matplotlib ``Figure`` (no pyplot state)."""

from __future__ import annotations

from itertools import cycle
from typing import TYPE_CHECKING

import numpy as np

from .._figures import new_figure
from ..errors import UsageError
from ._fused import MAPPINGS

if TYPE_CHECKING:
    import matplotlib.figure

    from ._profile import Profile

# Bars coloured by how a kernel maps to the authored graph.
_MAPPING_COLORS = dict(zip(MAPPINGS, ("#4c72b0", "#55a868", "#dd8452", "#8172b3", "#c44e52")))
_OTHER = "#b0b0b0"


def _legend(colors: dict) -> list:
    from matplotlib.patches import Patch

    return [Patch(color=color, label=str(label)) for label, color in colors.items()]


def _tab10() -> list:
    from matplotlib import colormaps

    return list(colormaps["tab10"].colors)  # type: ignore[attr-defined]  # a ListedColormap, which has them


class ProfilePlots:
    """``p.plot``: the profile's plots. Each method returns a new ``Figure``."""

    def __init__(self, profile: "Profile") -> None:
        self._profile = profile

    def top(self, n: int = 20) -> "matplotlib.figure.Figure":
        """The ``n`` slowest kernels: median time, a whisker from min to p90, coloured by mapping."""
        nodes = self._profile.nodes.nlargest(n, "median_us").iloc[::-1]
        figure = new_figure(9, 0.8 + 0.28 * len(nodes))
        axes = figure.add_subplot()
        y = np.arange(len(nodes))
        axes.barh(y, nodes["median_us"], color=[_MAPPING_COLORS[m] for m in nodes["mapping"]])
        axes.errorbar(nodes["median_us"], y, xerr=[nodes["median_us"] - nodes["min_us"],
                                                   nodes["p90_us"] - nodes["median_us"]],
                      fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        axes.set_yticks(y, [f"{name} ({op})" for name, op in zip(nodes.index, nodes["op"])], fontsize="small")
        axes.set_xlabel("median time per run (µs); whisker: min to p90")
        shown = {m: c for m, c in _MAPPING_COLORS.items() if m in set(nodes["mapping"])}
        axes.legend(handles=_legend(shown), title="mapping", loc="lower right", fontsize="small")
        axes.set_title(f"Slowest kernels — {self._profile.label}")
        return figure

    def ops(self) -> "matplotlib.figure.Figure":
        """Median time per op type (as onnxruntime ran them), with each op's share of kernel time."""
        ops = self._profile.ops.iloc[::-1]
        figure = new_figure(8, 0.8 + 0.3 * len(ops))
        axes = figure.add_subplot()
        bars = axes.barh(ops.index.astype(str), ops["median_us"], color="#4c72b0")
        axes.bar_label(bars, labels=[f"{s:.0%}" for s in ops["share"]], padding=2, fontsize="small")
        axes.set_xlabel("median time per run (µs)")
        axes.set_title(f"Time per op type — {self._profile.label}")
        return figure

    def timeline(self, run: int = 0) -> "matplotlib.figure.Figure":
        """One run's kernels against time, one lane per thread and nesting depth (and one for
        device kernels), coloured by op type (the eight slowest ops; others grey)."""
        events, runs = self._profile._core, self._profile.runs
        if run not in runs.index:
            raise UsageError(f"No run {run}: the measured runs are 0 to {len(runs) - 1}.")
        selected = events[(events["run"] == run) & events["cat"].isin(["Node", "Kernel"])]
        start = events.loc[(events["run"] == run) & (events["name"] == "model_run"), "ts"].min()
        start = selected["ts"].min() if np.isnan(start) else start
        lanes = selected.apply(lambda e: "device" if e["cat"] == "Kernel" else f"thread {e['tid']}"
                               + (f" / depth {e['depth']}" if e["depth"] else ""), axis=1)
        order = list(dict.fromkeys(lanes))
        top_ops = list(self._profile.ops.index[:8])
        palette = dict(zip(top_ops, _tab10()))
        figure = new_figure(11, max(2.4, 1.2 + 0.5 * len(order)))
        axes = figure.add_subplot()
        ops = selected["node"].map(self._profile.nodes["op"]).fillna(selected["name"])
        colors = [palette.get(op, _OTHER) for op in ops]
        axes.barh([order.index(lane) for lane in lanes], selected["dur"], left=selected["ts"] - start,
                  color=colors, edgecolor="white", linewidth=0.3)
        axes.set_yticks(range(len(order)), order)
        axes.invert_yaxis()
        axes.set_xlabel("µs since the run started")
        axes.legend(handles=_legend(palette), fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
        latency = runs.at[run, "latency_us"]
        axes.set_title(f"Run {run} ({latency:,.0f} µs) — {self._profile.label}")
        return figure

    def roofline(self, peak_gflops: float | None = None, bandwidth_gbs: float | None = None
                 ) -> "matplotlib.figure.Figure":
        """Achieved GFLOP/s against arithmetic intensity (FLOPs per byte touched), one point per
        kernel with known FLOPs, sized by its time.

        With the machine's roofs — ``peak_gflops`` and ``bandwidth_gbs``, from
        :func:`workbench.measure_roofs` (``roofline(**wb.measure_roofs())``) or a datasheet —
        the roofline ``min(peak, bandwidth × intensity)`` is drawn with its ridge point, and
        each kernel's distance below it is how far it is from what this machine can do.
        """
        if bool(peak_gflops) != bool(bandwidth_gbs):
            raise UsageError("A roofline needs both roofs: peak_gflops and bandwidth_gbs (wb.measure_roofs() "
                             "measures both on this machine's CPU).")
        nodes = self._profile.nodes
        nodes = nodes[(nodes["flops"] > 0) & (nodes["bytes"] > 0) & (nodes["gflops"] > 0)]
        figure = new_figure(8, 5)
        axes = figure.add_subplot()
        if nodes.empty:
            axes.text(0.5, 0.5, "no kernel with known FLOPs and bytes", ha="center", va="center",
                      transform=axes.transAxes)
            return figure
        intensity = nodes["flops"] / nodes["bytes"]
        palette = dict(zip(dict.fromkeys(nodes["op"]), cycle(_tab10())))
        sizes = 20 + 400 * nodes["share"] / nodes["share"].max()
        axes.scatter(intensity, nodes["gflops"], s=sizes, c=[palette[op] for op in nodes["op"]], alpha=0.7,
                     edgecolors="black", linewidths=0.4)
        for name, row in nodes.nlargest(5, "median_us").iterrows():
            axes.annotate(str(name), (row["flops"] / row["bytes"], row["gflops"]), fontsize="x-small",
                          xytext=(4, 4), textcoords="offset points")
        axes.set_xscale("log")
        axes.set_yscale("log")
        if peak_gflops and bandwidth_gbs:
            ridge = peak_gflops / bandwidth_gbs
            low, high = min(intensity.min(), ridge) / 4, max(intensity.max(), ridge) * 4
            xs = np.geomspace(low, high, 200)
            axes.plot(xs, np.minimum(peak_gflops, bandwidth_gbs * xs), color="black", linewidth=1.2,
                      label=f"roofline: {peak_gflops:,.0f} GFLOP/s, {bandwidth_gbs:,.0f} GB/s")
            axes.axvline(ridge, color="grey", linestyle=":", linewidth=1)
            axes.annotate(f"ridge {ridge:.2g} FLOP/B", (ridge, peak_gflops), fontsize="x-small",
                          xytext=(4, -12), textcoords="offset points")
        axes.set_xlabel("arithmetic intensity (FLOP / byte)")
        axes.set_ylabel("achieved GFLOP/s (median)")
        handles = _legend(dict(list(palette.items())[:10])) + axes.get_lines()[:1]
        axes.legend(handles=handles, fontsize="small", loc="best")
        axes.set_title(f"Roofline — {self._profile.label}")
        return figure

