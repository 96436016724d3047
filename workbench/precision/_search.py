"""``wb.precision.search``: the fewest nodes to keep in fp32 so a lower-precision model is within
tolerance, found from the comparison's own diagnosis.

1. The model is converted with nothing kept in fp32 and compared with the fp32 model
   (``wb.compare``). Each value that rounds (``Report.precision``) is traced to the fp32 node
   it stands for: a dequantized weight to the node reading it, a quantized activation to the
   node writing it, a float16 op to itself. Those nodes are ranked: the causes first (past their
   format on the fp32 model's inputs: an overflow, a clipping range), then by their local error:
   the SQNR their rounding alone leaves on the fp32 model's inputs, lowest first.
2. Keeping the first *k* in fp32 (``nodes_to_exclude`` of onnxruntime's quantizers,
   ``node_block_list`` of its float16 converter) is converted and run for the outputs only.
   ``method="bisection"`` (the default) finds the smallest such *k* within tolerance in
   log2(n) conversions, trusting that keeping more never hurts much; ``method="greedy"`` tries
   k = 1, 2, … in turn until one is within tolerance (every point of the curve, n conversions
   at worst). The ranking is a guess: then the nodes kept that the outputs do not need are
   dropped again (``prune``: halves of them first, down to single nodes, last ranked first). Static
   quantization calibrates once (onnxruntime's calibration cache, where it has one).
3. The chosen model is compared with the fp32 model again: ``Search.report``.

Anchors: Polygraphy's ``debug precision`` does this for TensorRT from the command line; TFLite's
QuantizationDebugger ranks layers for TFLite. This is the same loop for ONNX, in a notebook.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import onnx
import pandas as pd

from .._figures import new_figure
from ..comparison import Report, compare, error_metrics
from ..errors import UsageError
from ..model import Model, as_model
from ..runtime import debug
from ..runtime.internal import Value, make_feeds

if TYPE_CHECKING:
    import matplotlib.figure

#: What ``target`` may be: static int8 in the Q/DQ format (calibrated), dynamic int8, float16.
TARGETS = ("int8", "int8-dynamic", "fp16")
#: Output metrics (smaller is better) a search can hold under ``tolerance``.
METRICS = ("max_abs", "mean_abs", "p99_abs", "max_rel", "rel_l2", "min_atol", "min_rtol")
Metric = str | Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], float]


@dataclass
class Recipe:
    """How to make the lower-precision model again: the target, the fp32 nodes kept (by name), and
    the converter's options. ``apply`` re-runs the conversion; ``code`` is the same call as
    Python, to paste into a build script."""

    target: str
    keep: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def apply(self, model: Any, calibration: Iterable[Mapping[str, Any]] | None = None) -> onnx.ModelProto:
        """The model converted this way. Static int8 needs ``calibration`` (feed dicts)."""
        with _Converter(as_model(model), self.target, calibration, self.options) as converter:
            return converter.convert(self.keep)

    def code(self) -> str:
        """The converter call that makes this model, as Python."""
        keep = repr(list(self.keep))
        options = "".join(f", {k}={v!r}" for k, v in self.options.items())
        if self.target == "int8":
            return ("from onnxruntime.quantization import QuantFormat, quantize_static\n"
                    f"quantize_static('fp32.onnx', 'int8.onnx', calibration_reader, quant_format=QuantFormat.QDQ, "
                    f"nodes_to_exclude={keep}{options})")
        if self.target == "int8-dynamic":
            return ("from onnxruntime.quantization import quantize_dynamic\n"
                    f"quantize_dynamic('fp32.onnx', 'int8.onnx', nodes_to_exclude={keep}{options})")
        return ("from onnxruntime.transformers.float16 import convert_float_to_float16\n"
                f"fp16 = convert_float_to_float16(onnx.load('fp32.onnx'), keep_io_types=True, "
                f"node_block_list={keep}{options})")


@dataclass
class Search:
    """What :func:`search` found.

    ``model`` is the converted model (``recipe`` makes it again), ``reached`` whether its
    outputs are within ``tolerance``; ``ranking`` is every fp32 node behind a rounding value,
    the causes first, then by the local SQNR of its rounding (dB, lowest first), with the SQNR
    its values have in the run; ``curve`` the conversions tried,
    in order (``kept``: how many nodes stayed fp32, ``error`` on the outputs, ``ok``, ``phase``: ``ranked`` for the
    ranking's first nodes, ``pruned`` for one dropped again, ``nodes``); ``report`` the chosen
    model compared with the fp32 one; ``plot()`` draws the curve.
    """

    model: onnx.ModelProto
    recipe: Recipe
    reached: bool
    metric: str
    tolerance: float
    method: str
    ranking: pd.DataFrame
    curve: pd.DataFrame
    report: Report

    @property
    def kept(self) -> list[str]:
        """The fp32 nodes kept in fp32 (the recipe's)."""
        return list(self.recipe.keep)

    def plot(self) -> "matplotlib.figure.Figure":
        """Output error against the number of nodes kept in fp32 (log scale): the ranking's first
        nodes kept, the nodes dropped again, the tolerance and the choice."""
        figure = new_figure(7, 3.2)
        axes = figure.add_subplot()
        ranked = self.curve[self.curve.phase == "ranked"].sort_values("kept")
        pruned = self.curve[self.curve.phase == "pruned"]
        errors = self.curve.error[(self.curve.error > 0) & np.isfinite(self.curve.error)]
        floor = min([*errors, self.tolerance]) / 10  # an exact model (everything kept) sits on the floor
        top = max([*errors, self.tolerance]) * 10  # an overflow (Inf) at the top
        axes.plot(ranked.kept, ranked.error.clip(floor, top), marker="o", linewidth=1,
                  label="the worst ranked kept in fp32")
        if not pruned.empty:
            axes.scatter(pruned.kept, pruned.error.clip(floor, top), marker="x", color="grey",
                         label="some of them dropped again")
        axes.set_yscale("log")
        axes.axhline(self.tolerance, color="grey", linestyle=":", linewidth=1, label=f"tolerance {self.tolerance:.3g}")
        axes.axvline(len(self.kept), color="crimson", linewidth=1, label=f"chosen: {len(self.kept)} kept")
        axes.set_xlabel(f"nodes kept in fp32 (of {len(self.ranking)} that round)")
        axes.set_ylabel(f"output {self.metric}")
        axes.set_title(f"{self.recipe.target}: {self.method} search")
        axes.legend(loc="upper right", fontsize="small")
        return figure

    @property
    def error(self) -> float:
        """The chosen model's output error (``metric``)."""
        chosen = self.curve[self.curve.nodes.map(tuple) == tuple(self.kept)].error
        return float(chosen.iloc[0]) if len(chosen) else math.nan

    def summary(self) -> str:
        """One paragraph: the target, what was kept, the error reached, how many conversions."""
        verdict = "within" if self.reached else "NOT within (the best found)"
        kept = ", ".join(self.kept[:8]) + (" …" if len(self.kept) > 8 else "")
        return (f"{self.recipe.target}: {len(self.kept)} of {len(self.ranking)} rounding nodes kept in fp32"
                f"{f' ({kept})' if self.kept else ''}; output {self.metric} {self.error:.3g}, {verdict} tolerance "
                f"{self.tolerance:g}; {len(self.curve)} conversions ({self.method}"
                f"{', pruned' if (self.curve.phase == 'pruned').any() else ''})")

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.summary())}</p>" + self.curve.to_html(float_format=lambda v: f"{v:.3g}")


def search(model: Any, inputs: Mapping[str, Any] | None = None, *, target: str = "int8", metric: Metric = "max_abs",
           tolerance: float = 1e-2, method: str = "bisection",
           prune: bool = True, budget: int = 32, calibration: Iterable[Mapping[str, Any]] | None = None,
           options: Mapping[str, Any] | None = None, provider: str = "cpu",
           dims: Mapping[str, int] | None = None) -> Search:
    """Finds a small set of nodes to keep in fp32 so that ``model`` converted to ``target`` has
    outputs within ``tolerance`` of the fp32 model's on ``inputs``.

    Args:
        model: the fp32 model (anything :func:`workbench.open` takes).
        inputs: the feeds the outputs are measured on (random ones when None).
        target: ``"int8"`` (onnxruntime's ``quantize_static``, Q/DQ format), ``"int8-dynamic"``
            (``quantize_dynamic``) or ``"fp16"`` (``convert_float_to_float16``, fp32 inputs
            and outputs).
        metric: one of :data:`METRICS`, worst over the outputs, or a function of the fp32 and
            the candidate's outputs (by name) returning a number (smaller is better).
        tolerance: the largest ``metric`` accepted.
        method: ``"bisection"`` (log2(n) conversions) or ``"greedy"`` (k = 1, 2, … kept).
        prune: then drop the nodes kept that the tolerance does not need (runs of them at once,
            halves first, down to single nodes: about 2·log2(k) conversions where few are needed).
        budget: pruning stops once this many conversions were made in all.
        calibration: feed dicts for static quantization's calibration (``[inputs]`` when None).
        options: more keyword arguments for the converter (``per_channel=True``, …).
        provider: where the models run (as the debugger runs them: as the graph says).
        dims: sizes for symbolic input dimensions, for random inputs.

    Returns:
        A :class:`Search`: the model, its recipe, the ranking, the curve and the final report.
    """
    if target not in TARGETS:
        raise UsageError(f"target={target!r} is not one of {TARGETS}.")
    if method not in ("bisection", "greedy"):
        raise UsageError(f"method={method!r}: use 'bisection' or 'greedy'.")
    if isinstance(metric, str) and metric not in METRICS:
        raise UsageError(f"metric={metric!r} is not one of {METRICS} (or pass a function of the two runs' outputs).")
    fp32 = as_model(model)
    feeds = make_feeds(fp32, inputs, dims=dims)
    names = [o.name for o in fp32.proto.graph.output]
    expected = _outputs(fp32, feeds, provider, names)
    measure = _measure(metric, expected)
    label = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    from tqdm.auto import tqdm

    with _Converter(fp32, target, [feeds] if calibration is None else calibration, dict(options or {})) as converter, \
            tqdm(desc=f"precision search ({target})", unit="conversion", leave=False) as bar:
        tried: dict[tuple[str, ...], tuple[onnx.ModelProto, float, str]] = {}  # kept nodes: model, error, phase

        def within(keep: Sequence[str], phase: str) -> bool:
            key = tuple(keep)
            if key not in tried and phase == "pruned" and len(tried) >= budget:
                return False  # pruning stops at the budget; the search itself does not
            if key not in tried:
                converted = converter.convert(keep)
                tried[key] = converted, measure(_outputs(as_model(converted), feeds, provider, names)), phase
                bar.update(1)
            return tried[key][1] <= tolerance

        within([], "ranked")
        ranking = _ranking(fp32, compare(fp32, feeds, candidate=tried[()][0], provider=provider))
        order = list(ranking.node)
        bar.total = 1 + (len(order).bit_length() + 1 if method == "bisection" else len(order))
        chosen = 0 if tried[()][1] <= tolerance else _choose(lambda k: within(order[:k], "ranked"), len(order),
                                                             method)
        reached = chosen is not None
        if chosen is None:  # not even everything kept: the best tried
            keep = list(min(tried.items(), key=lambda item: item[1][1])[0])
        else:
            keep = order[:chosen]
            if prune:  # the ranking is a guess: drop what the tolerance does not need
                keep = _pruned(keep, lambda rest: within(rest, "pruned"))
    curve = pd.DataFrame([{"kept": len(k), "error": e, "ok": e <= tolerance, "phase": phase, "nodes": k}
                          for k, (_, e, phase) in tried.items()], columns=["kept", "error", "ok", "phase", "nodes"])
    final = tried[tuple(keep)][0]
    report = compare(fp32, feeds, candidate=final, provider=provider)
    return Search(final, Recipe(target, list(keep), dict(options or {})), reached, label, tolerance, method,
                  ranking, curve, report)


def _choose(good: Callable[[int], bool], n: int, method: str) -> int | None:
    """The smallest k in 1..n for which ``good(k)``: by bisection (``good`` taken as monotone), or
    trying each in turn. None when ``good(n)`` is false."""
    if method == "greedy":
        return next((k for k in range(1, n + 1) if good(k)), None)
    if n == 0 or not good(n):
        return None
    low, high = 0, n  # good(high); not good(low) (k = 0 was tried first)
    while high - low > 1:
        middle = (low + high) // 2
        if good(middle):
            high = middle
        else:
            low = middle
    return high


def _outputs(model: Model, feeds: Mapping[str, Value], provider: str, names: Sequence[str]) -> dict[str, Value]:
    """The model's outputs as the debugger computes them: as the graph says, every value kept.
    (A plain run on onnxruntime's CPU provider computes float16 ops it has no kernel for in
    float32 and drops the casts between them, so it overflows less than the graph would on a
    GPU; the search and the comparison see the same graph.)"""
    run = debug(model, feeds, provider=provider)
    return {name: run.tensor(name) for name in names}


def _pruned(keep: list[str], good: Callable[[list[str]], bool]) -> list[str]:
    """``keep`` without the nodes ``good`` does not need: runs of them dropped at once, halves
    first, then quarters…, then single nodes, each from the last ranked back (about 2·log2(k)
    tries where few are needed, 2·k at worst)."""
    chunk = max(1, len(keep) // 2)
    while True:
        end = len(keep)
        while end > 0:
            part = keep[max(0, end - chunk):end]
            rest = [n for n in keep if n not in part]
            if rest and good(rest):
                keep = rest
            end -= chunk
        if chunk == 1:
            return keep
        chunk //= 2


def _measure(metric: Metric, expected: Mapping[str, Value]) -> Callable[[Mapping[str, Value]], float]:
    """The error of a candidate's outputs: ``metric`` worst over the outputs, or the user's function."""
    if callable(metric):
        return lambda outputs: float(metric(expected, outputs))  # type: ignore[arg-type]

    def worst(outputs: Mapping[str, Value]) -> float:
        values = [error_metrics(np.asarray(expected[n]), np.asarray(outputs[n]))[metric] for n in expected]
        return max((math.inf if v != v else float(v) for v in values), default=0.0)

    return worst


#: SQNR of a value that is exact (fp32 against itself): where a ranking's dB are capped.
_EXACT_DB = 140.0


def _ranking(fp32: Model, report: Report) -> pd.DataFrame:
    """The fp32 nodes behind the rounding values of ``report`` (the node writing the value a
    quantization or float16 op stands for; for a weight, the node reading it), with the lowest
    local SQNR among their roundings (``local_sqnr``: what the rounding alone leaves, on the
    reference's inputs) and the lowest SQNR they have in the run (``sqnr``): first those that are
    a cause (past their format: an overflow), then by local SQNR, lowest first."""
    producer, readers = fp32.producers, fp32.consumers
    rows: dict[str, dict[str, Any]] = {}
    precision = report.precision
    for reference, local, run, status in zip(precision.reference, precision.local_sqnr, precision.sqnr,
                                             precision.status):
        node_id = producer.get(reference) or next(iter(readers.get(reference, ())), None)
        if node_id is None or not fp32.node(node_id).name:
            continue
        row = rows.setdefault(node_id, {"node": node_id, "op_type": fp32.node(node_id).op_type,
                                        "scope": fp32.scope_path(node_id), "cause": False,
                                        "local_sqnr": _EXACT_DB, "sqnr": _EXACT_DB})
        row["cause"] = row["cause"] or status == "cause"
        row["local_sqnr"] = min(row["local_sqnr"], _capped(local))
        row["sqnr"] = min(row["sqnr"], _capped(run))
    table = pd.DataFrame(list(rows.values()), columns=["node", "op_type", "scope", "cause", "local_sqnr", "sqnr"])
    return table.sort_values(["cause", "local_sqnr"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _capped(db: float) -> float:
    """A SQNR in dB within ±:data:`_EXACT_DB` (NaN, where nothing was measured: exact)."""
    return _EXACT_DB if db != db else max(-_EXACT_DB, min(_EXACT_DB, db))


class _Converter:
    """Converts the fp32 model to ``target`` keeping given nodes in fp32, in a scratch folder that
    lives as long as the ``with`` block (static int8 calibrates there once, where onnxruntime
    keeps a calibration cache)."""

    def __init__(self, fp32: Model, target: str, calibration: Iterable[Mapping[str, Any]] | None,
                 options: dict[str, Any]) -> None:
        self.fp32, self.target, self.options = fp32, target, options
        self.calibration = None if calibration is None else [dict(c) for c in calibration]
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> _Converter:
        self._folder = tempfile.TemporaryDirectory(prefix="workbench-precision-")
        onnx.save(self.fp32.proto, self.folder / "fp32.onnx")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._folder is not None:
            self._folder.cleanup()

    @property
    def folder(self) -> Path:
        assert self._folder is not None, "used outside its with block"
        return Path(self._folder.name)

    def convert(self, keep: Sequence[str]) -> onnx.ModelProto:
        """The model converted, with the nodes named in ``keep`` left in fp32."""
        source, out = self.folder / "fp32.onnx", self.folder / "converted.onnx"
        if self.target == "fp16":
            from onnxruntime.transformers.float16 import convert_float_to_float16

            return _without_round_trips(convert_float_to_float16(onnx.load(source), keep_io_types=True,
                                                                 node_block_list=list(keep), **self.options))
        from onnxruntime.quantization import QuantFormat, quantize_dynamic, quantize_static

        with _quiet_quantizer():
            if self.target == "int8-dynamic":
                quantize_dynamic(source, out, nodes_to_exclude=list(keep), **self.options)
            else:
                if not self.calibration:
                    raise UsageError("Static int8 needs calibration data: pass calibration=[feeds, …].")
                cache = ({"calibration_cache_path": self.folder / "calibration.json"}
                         if "calibration_cache_path" in inspect.signature(quantize_static).parameters else {})
                quantize_static(source, out, _Reader(self.calibration), quant_format=QuantFormat.QDQ,
                                nodes_to_exclude=list(keep), **cache, **self.options)
        return onnx.load(out)


def _without_round_trips(model: onnx.ModelProto) -> onnx.ModelProto:
    """The converted model without the float32 → float16 → float32 round trips that onnxruntime's
    converter puts between two nodes it keeps in float32 (it casts each one's output down and
    the next one's input up): the value passes in float32, as keeping them meant. Changed in place."""
    graph = model.graph
    nodes = list(graph.node)
    to = {n.output[0]: next(a.i for a in n.attribute if a.name == "to") for n in nodes if n.op_type == "Cast"}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    renamed: dict[str, str] = {}  # a Cast up's output → the float32 value before the Cast down
    dropped: set[int] = set()
    for down in nodes:
        if down.op_type != "Cast" or to[down.output[0]] != onnx.TensorProto.FLOAT16 or down.output[0] in outputs:
            continue
        ups = readers.get(down.output[0], [])
        if ups and all(u.op_type == "Cast" and to[u.output[0]] == onnx.TensorProto.FLOAT and u.output[0] not in outputs
                       for u in ups):
            renamed.update({u.output[0]: down.input[0] for u in ups})
            dropped.update(id(n) for n in (down, *ups))
    if dropped:
        kept = [n for n in nodes if id(n) not in dropped]
        for node in kept:
            node.input[:] = [renamed.get(name, name) for name in node.input]
        del graph.node[:]
        graph.node.extend(kept)
    return model


class _Reader:
    """onnxruntime's calibration reader over a list of feed dicts."""

    def __init__(self, batches: Sequence[Mapping[str, Any]]) -> None:
        self._batches = iter(batches)

    def get_next(self) -> Mapping[str, Any] | None:
        return next(self._batches, None)


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """onnxruntime's quantizer advises pre-processing on the root logger at each call: quiet it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)
