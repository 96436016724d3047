"""``wb.compare``: align two runs value by value and find where they part, and why.

The candidate is always an ONNX model, captured whole by the debugger (one run, every
value kept). The reference is its torch source (a ``torch.onnx.ONNXProgram``: the
exported program runs through ``torch.fx.Interpreter``, whose node names are the ONNX
value names; or an ``nn.Module``, its submodules' outputs caught by forward hooks), a
fitted scikit-learn estimator (each step under the name skl2onnx gave its output), another
ONNX run (another model, or the same model on another backend), or a dict of saved
arrays. For every node whose output drifts past tolerance, the node
is also run alone on the *reference's* inputs: that local error says whether the node
itself is wrong, or only carries error from upstream. The root cause is the first node
whose local error is over tolerance.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import onnx
import pandas as pd

from .._figures import new_figure
from ..errors import UsageError
from ..graph import write_html
from ..model import Model
from ..runtime import Debugger
from ..runtime.internal import Value, onnx_dtype
from ._align import Alignment
from ._metrics import COLUMNS as METRICS
from ._metrics import value_metrics, within
from ._rounding import Rounding, rounding, sqnr_db, stored_within
from ._sources import Finer, Request, Run, model_label, source_kind
from ._trees import SPLIT_COLUMNS, crossing_text, threshold_crossings

if TYPE_CHECKING:
    import matplotlib.figure

    from ..widgets import GraphView

Tolerance = tuple[float, float]  # (rtol, atol)
#: The columns of Report.precision.
PRECISION_COLUMNS = ("node", "op_type", "scope", "value", "reference", "format", "scale", "zero_point",
                     "local_sqnr", "sqnr", "beyond_rounding", "status", "rounding")


@dataclass
class Report:
    """The comparison: one row per compared value, in execution order.

    ``table`` columns: node, op_type, scope, value, reference (the reference's value it is
    compared with: its own name, but for a rewrite's, see below), the metrics of
    :func:`~workbench.comparison.error_metrics`, ``ok`` (within tolerance), ``local_ok`` and
    ``local_max_abs`` (the node alone on the reference's inputs; computed where ``ok`` is
    False), ``suspects`` (the nodes without a reference value that feed an off node, nearest
    last: where a fault inside a module may sit), ``note`` (what a row is, in words, where the
    numbers do not say it: a sequence length that differs, a random op) and ``status``:
    ``ok``, ``carried`` (off, but right on the reference's inputs), ``cause`` (off on the
    reference's own inputs too), ``rounding`` (a node of a lower-precision candidate that
    rounds — a dequantization, an int8 op, a float16 op — off by no more than its format allows
    on the reference's inputs: see :attr:`precision`) or ``random`` (an output of a random op —
    Bernoulli, RandomNormal, Dropout in training mode…: its values differ from run to run, so
    they are not compared, and it is never a cause) or ``threshold`` (a tree ensemble off, but
    right on the reference's inputs, whose input agrees with the reference's within tolerance
    yet crosses split thresholds: a rounding too small to matter elsewhere takes the other
    branch; never a cause: see :attr:`splits`).

    Against a quantized, float16 or fused rewrite of the reference, values are aligned by what
    they stand for, not by name: the output of a Q/DQ pair with the fp32 value it quantizes, a
    dequantized weight with the fp32 weight, a value whose name the rewrite gave to another
    producer's output (``quantize_static`` folding a Relu) with that producer's (its note says
    which). ``local_rel_l2`` is the local error's relative L2 norm.

    A sequence is compared element by element (rows ``name[0]``, ``name[1]``, …), a map key by
    key; a sequence of another length, a map with other keys or an optional empty on one side
    only is one row, off, whose note says so.
    """

    table: pd.DataFrame
    reference: str
    candidate: str
    rtol: float
    atol: float
    unaligned: list[str] = field(default_factory=list)
    model: Model | None = field(default=None, repr=False)  # the candidate
    #: With a torch module as the reference (values per module output): the smallest module
    #: around the root cause whose inputs agree with torch's and whose output does not.
    cause_module: str | None = None
    #: Where a lower-precision candidate rounds past the tolerances, one row per value, in
    #: execution order: the node, the value and the ``reference`` value it stands for, its
    #: ``format`` (``uint8``/``int8``/``int32`` for a dequantization, ``int8`` for an int8 op,
    #: ``float16``), the dequantization's ``scale`` and
    #: ``zero_point`` (NaN for none or per axis: ``rounding`` says them in words), the SQNR in dB
    #: that the node alone leaves on the reference's inputs (``local_sqnr``) and that the value
    #: has in the run (``sqnr``), the share of elements past what the format allows
    #: (``beyond_rounding``: clipped, for a dequantization) and the row's ``status``.
    precision: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PRECISION_COLUMNS))
    #: Where a tree ensemble's input rows, the reference's and the candidate's, go different ways
    #: (rows of status ``threshold``): per sample off and tree, the first split where they part —
    #: the ensemble ``node``, the ``sample`` (row of the input), the ``tree`` and its
    #: ``tree_node`` (ids as the ONNX node numbers them), the ``feature`` index, the split's
    #: ``threshold`` and ``mode`` (``BRANCH_LT``: true below it…), and the ``reference``'s and
    #: ``candidate``'s values of that feature, as the node compares them (in its input's type),
    #: in order of sample and tree. Empty when no input crosses a threshold.
    splits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SPLIT_COLUMNS))
    # node id → (the inputs it ran on alone, the reference's outputs): for repro()
    # node id → (what it ran on, the reference's outputs, the nodes to replay: the node alone, or,
    # for a node found inside a decomposition, it and the rest of its chain): for repro()
    _cases: dict[str, tuple[dict[str, Value], dict[str, Value], list[str]]] = field(default_factory=dict,
                                                                                            repr=False)

    def _first(self, status: Sequence[str]) -> pd.Series | None:
        rows = self.table[self.table.status.isin(status)]
        return None if rows.empty else rows.iloc[0]

    @property
    def first_divergence(self) -> pd.Series | None:
        """The first value over tolerance (None when every value agrees). A node found inside a
        decomposition is not a value measured against the reference: its op's row is."""
        measured = self.table[~self.table.note.astype(str).str.startswith(_INSIDE)]
        rows = measured[measured.status.isin(("carried", "cause", "rounding", "threshold"))]
        return None if rows.empty else rows.iloc[0]

    @property
    def root_cause(self) -> pd.Series | None:
        """The first node that is off on the reference's own inputs (None when none is)."""
        return self._first(("cause",))

    @property
    def by_module(self) -> pd.DataFrame:
        """Per scope: values compared, how many are off, the worst errors, the first cause."""
        table = self.table
        grouped = table.groupby("scope", sort=False)
        return pd.DataFrame({
            "values": grouped.size(),
            "off": grouped.ok.apply(lambda s: int((~s).sum())),
            "max_abs": grouped.max_abs.max(),
            "max_rel": grouped.max_rel.max(),
            "causes": grouped.status.apply(lambda s: int((s == "cause").sum())),
        })

    def plot(self, metrics: Sequence[str] = ("max_abs", "max_rel", "rel_l2")) -> "matplotlib.figure.Figure":
        """Error against execution order, one line per metric (log scale); the root cause marked."""
        figure = new_figure(9, 3.2)
        axes = figure.add_subplot()
        order = range(len(self.table))
        for metric in metrics:
            values = self.table[metric].astype(float).clip(lower=1e-12)
            axes.plot(order, values, label=metric, linewidth=1)
        axes.set_yscale("log")
        axes.set_xlabel("value, in execution order")
        axes.set_ylabel("error")
        axes.axhline(self.atol, color="grey", linestyle=":", linewidth=1, label=f"atol {self.atol:g}")
        cause = self.root_cause
        if cause is not None:
            axes.axvline(cause.name, color="crimson", linewidth=1, label=f"root cause: {cause.node}")
        axes.legend(loc="upper left", fontsize="small")
        axes.set_title(f"{self.candidate} vs {self.reference}")
        return figure

    def view(self, metric: str = "max_abs") -> "GraphView":
        """The candidate's graph coloured by ``metric`` (worst value per node), the root cause selected."""
        model, values, focus = self._drawn(metric)
        view = model.view()
        view.set_overlay(values, label=metric)
        if focus is not None:
            view.select([focus])
            view.reveal(focus)  # opens its groups and pans to it once drawn
        return view

    def to_html(self, path: str | os.PathLike, metric: str = "max_abs") -> Path:
        """Writes the report as ONE self-contained HTML file (``.html``, no network): the
        candidate's graph coloured by ``metric`` with the root cause selected, as :meth:`view`
        draws it, and the report's table beside it, where a click on a row selects its node.
        Returns the path."""
        model, values, focus = self._drawn(metric)
        index = model.view_index
        return write_html(path, index, overlay=index.overlay(values, metric), selected=[focus] if focus else None,
                          table=self.table, table_title=f"{self.candidate} vs {self.reference}", node_column="node")

    def _drawn(self, metric: str) -> tuple[Model, pd.Series, str | None]:
        """What the graph of the report shows: the candidate model, ``metric`` per node (its worst
        value), and the node to select (the root cause, else the first divergence)."""
        if self.model is None:
            raise UsageError("This report has no model to draw.")
        if metric not in self.table.columns:
            raise UsageError(f"No column {metric!r} in the report's table: name one of its error columns, "
                             "such as 'max_abs'.")
        values = self.table.groupby("node", sort=False)[metric].max().astype(float)
        cause = self.root_cause if self.root_cause is not None else self.first_divergence
        return self.model, values.replace([np.inf], np.nan), (cause.node if cause is not None else None)

    def repro(self, folder: str | os.PathLike, node: str | None = None) -> Path:
        """Writes a standalone reproduction of the root cause (or ``node``) into ``folder``.

        ``model.onnx`` (the node alone, its weights inside; a node found inside a decomposition
        with the rest of its chain, up to the value torch computes), ``inputs.npz`` (the
        inputs it got on the reference side; a weight that differs from torch's is the model's
        own), ``expected.npz`` (the reference's outputs) and ``replay.py``, which runs it with
        onnxruntime and exits 1 when the outputs are still off (``python replay.py``).
        Returns the folder.
        """
        cause = self.root_cause
        node_id = node or (cause.node if cause is not None else None)
        if node_id is None or node_id not in self._cases or self.model is None:
            raise UsageError("Nothing to reproduce: no node is off on the reference's inputs"
                             + ("" if node is None else f" ({node!r} was not run alone)") + ".")
        inputs, expected, nodes = self._cases[node_id]
        light = _standalone(self.model, [self.model.node(n) for n in nodes], inputs)
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        onnx.save(light, out / "model.onnx")
        fed = {n: a for n, a in inputs.items() if n in {i.name for i in light.graph.input}}
        # numpy's annotations take the keyword arrays for its allow_pickle flag
        np.savez(out / "inputs.npz", **fed)  # type: ignore[arg-type]
        np.savez(out / "expected.npz", **expected)  # type: ignore[arg-type]
        rtol, atol = self.rtol, self.atol
        (out / "replay.py").write_text(_REPLAY.format(node=node_id, rtol=rtol, atol=atol))
        return out

    def summary(self) -> str:
        """One paragraph: what was compared, where it diverges, what causes it."""
        head = (f"{self.candidate} vs {self.reference}: {len(self.table)} values compared "
                f"(rtol={self.rtol:g}, atol={self.atol:g}), {int((~self.table.ok).sum())} off")
        first, cause = self.first_divergence, self.root_cause
        if first is None:
            return head + "; no divergence" + self._random_text() + "."
        text = (f"{head}; first divergence at {first.op_type} {first.node!r} ({first.value}, "
                f"max abs {first.max_abs:.3g})")
        if cause is not None and str(cause.note).startswith(_INSIDE):
            text += (f"; root cause: {cause.op_type} {cause.node!r} in {cause.scope or '(top)'}, "
                     f"{cause.note[len(_INSIDE):]}")
        elif cause is not None and cause.note == _WEIGHT_NOTE:
            text += (f"; root cause: {cause.op_type} {cause.node!r} in {cause.scope or '(top)'} reads weight "
                     f"{cause.value!r}, which differs from the reference's own by {cause.max_abs:.3g}")
        elif cause is not None:
            text += (f"; root cause: {cause.op_type} {cause.node!r} in {cause.scope or '(top)'} — "
                     f"off by {cause.local_max_abs:.3g} on the reference's own inputs")
            if cause.suspects:
                text += (" (or one of the nodes feeding it that the reference has no values for: "
                         f"{list(cause.suspects)})")
        if self.cause_module is not None and (cause is None or self.cause_module != cause.scope):
            text += f"; the smallest module whose inputs agree and whose output does not: {self.cause_module}"
        return text + crossing_text(self.splits) + self._rounding_text() + self._random_text() + "."

    @property
    def worst_rounding(self) -> pd.Series | None:
        """The row of :attr:`precision` with the lowest local SQNR: where rounding costs the
        most (None when nothing rounds past the tolerances)."""
        finite = self.precision[self.precision.local_sqnr.notna()]
        return None if finite.empty else finite.loc[finite.local_sqnr.astype(float).idxmin()]

    def _rounding_text(self) -> str:
        worst = self.worst_rounding
        if worst is None:
            return ""
        within = int((self.precision.status == "rounding").sum())
        return (f"; {within} of {len(self.precision)} rounding node(s) within their format; the largest rounding "
                f"error enters at {worst.op_type} {worst.node!r} ({worst.value}; {worst.rounding}): local SQNR "
                f"{worst.local_sqnr:.1f} dB")

    def _random_text(self) -> str:
        random = self.table[self.table.status == "random"]
        if random.empty:
            return ""
        ops = ", ".join(dict.fromkeys(random.op_type))
        return (f"; {len(random)} value(s) come from random ops ({ops}) and are not compared: they differ from run "
                "to run, and what they feed may differ with them")

    def __repr__(self) -> str:
        return self.summary()

    def _offending_html(self, rows: int = 8) -> str:
        """The first values off tolerance (or the first values, when none is), key columns only."""
        columns = ["node", "op_type", "scope", "max_abs", "max_rel", "cosine", "local_max_abs", "status"]
        off = ~self.table.ok
        shown = self.table[off].head(rows) if off.any() else self.table.head(rows)
        return shown[columns].to_html(float_format=lambda v: f"{v:.3g}")

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.summary())}</p>" + self._offending_html()

    def _ipython_display_(self) -> None:
        """In a notebook: the summary, the graph coloured by error, the first values off."""
        import html

        import ipywidgets
        from IPython.display import display

        parts: list = [ipywidgets.HTML(f"<p>{html.escape(self.summary())}</p>")]
        if self.model is not None:
            parts.append(self.view())
        parts.append(ipywidgets.HTML(self._offending_html()))
        display(ipywidgets.VBox(parts))


def compare(source: Any, inputs: Mapping[str, Any] | None = None, *, onnx: Any = None,
            reference: str | Sequence[str] | Run | None = None, candidate: Any = None,
            provider: str | Sequence[str] = "cpu", rtol: float = 1e-4, atol: float = 1e-5,
            tolerances: Mapping[str, Tolerance] | None = None, dims: Mapping[str, int] | None = None) -> Report:
    """Compares two runs value by value; ``report.root_cause`` names the node that is wrong.

    - ``compare(onnx_program, inputs)``: torch (the exported program) vs its ONNX export
      (``onnx=`` another ONNX file of the same export, if given);
    - ``compare(torch_module, inputs, onnx=model)``: a module vs its export made any way
      (TorchScript too), aligned per submodule by forward hooks and the graph's scopes;
    - ``compare(model, inputs, candidate=other_model)``: two ONNX models, by value names
      (fp32 against its fp16 or int8 version, say);
    - ``compare(model, inputs, reference="cpu", candidate="cuda")``: one model on two
      backends (``reference`` defaults to ``provider``);
    - ``compare(model, inputs, candidate=Run(model, optimization="all"))``: the graph
      onnxruntime optimizes and runs, against the graph as authored;
    - ``compare(saved_arrays, inputs, onnx=model)``: arrays saved by any framework, by name;
    - ``compare(estimator, X, onnx=model)``: a fitted scikit-learn estimator or pipeline vs its
      skl2onnx conversion (made here when ``onnx`` is left out), step by step — XGBoost and
      LightGBM models and pipelines ending in them too (onnxmltools' converters, registered here);
    - ``compare(booster, X, onnx=model)``: a raw ``xgboost.Booster`` or ``lightgbm.Booster`` vs
      its onnxmltools conversion (made here when ``onnx`` is left out), by its predictions.

    ``rtol``/``atol`` apply as in ``numpy.allclose``; ``tolerances`` overrides them per op
    type, e.g. ``{"Softmax": (1e-3, 1e-5)}``. ``inputs`` default to ``wb.random_inputs``.
    ``provider`` runs the ONNX side of a torch or saved-array comparison.
    """
    kind = source_kind(source)
    if reference is not None and not kind.takes_reference:
        raise UsageError("reference= picks the reference side of an ONNX-vs-ONNX comparison; here the "
                         "reference is the source itself. Use provider= for the ONNX side.")
    cand, ref = kind.capture(source, Request(inputs, onnx, provider, dims, reference, candidate))
    report = _report(cand, ref.values, ref.label, rtol, atol, dict(tolerances or {}), ref.finer, ref.alignment,
                     ref.notes)
    if ref.by_module and report.root_cause is not None:
        report.cause_module = _cause_module(cand, report, ref.values)
    return report


_REPLAY = '''"""Replays node {node!r} alone on the reference's inputs; exits 1 if it is still off."""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

here = Path(__file__).parent
session = ort.InferenceSession(str(here / "model.onnx"), providers=["CPUExecutionProvider"])
inputs = dict(np.load(here / "inputs.npz"))
expected = dict(np.load(here / "expected.npz"))
names = [o.name for o in session.get_outputs()]
worst = 0.0
for name, value in zip(names, session.run(names, inputs)):
    if name in expected:
        error = float(np.max(np.abs(value.astype(np.float64) - expected[name].astype(np.float64)), initial=0.0))
        ok = np.allclose(value, expected[name], rtol={rtol!r}, atol={atol!r}, equal_nan=True)
        print(f"{{name}}: max abs error {{error:.3g}} ({{'ok' if ok else 'OFF'}})")
        worst = max(worst, 0.0 if ok else error)
sys.exit(1 if worst else 0)
'''


def _standalone(model: Model, nodes: Sequence["onnx.NodeProto"], inputs: Mapping[str, Value]) -> "onnx.ModelProto":
    """The nodes as a model: weights as initializers, other inputs (tensors) as graph inputs."""
    graph = onnx.helper.make_graph(list(nodes), nodes[0].name or nodes[0].op_type, [], [])
    for name, value in inputs.items():
        array = np.asarray(value)
        if name in model.initializers:
            graph.initializer.append(onnx.numpy_helper.from_array(array, name))
        else:
            graph.input.append(onnx.helper.make_tensor_value_info(name, onnx_dtype(array), list(array.shape)))
    graph.output.extend(onnx.helper.make_empty_tensor_value_info(o) for node in nodes for o in node.output if o)
    light = onnx.helper.make_model(graph, opset_imports=list(model.proto.opset_import))
    light.ir_version = model.proto.ir_version
    light.functions.extend(model.proto.functions)
    return light


def _cause_module(cand: Debugger, report: Report, ref_values: Mapping[str, Value]) -> str | None:
    """The smallest module around the root cause whose inputs all agree with the reference (they
    have torch values, within tolerance, or are graph inputs, weights or constants) while its
    output does not: from the cause's own scope up, the first that qualifies. A child module
    (an output projection) fed by values torch does not expose is not blamed for its parent's
    fault."""
    model, cause = cand.model, report.root_cause
    if cause is None:
        return None
    ok_values = set(report.table.value[report.table.ok])
    producer = {o: node_id for node_id in cand.steps for o in model.node(node_id).output if o}
    from_inputs: dict[str, bool] = {}

    def agrees(name: str) -> bool:
        """Has torch's value and matches it, or is computed from graph inputs and weights alone (a
        mask, a position index): nothing a module computed goes into it."""
        if name in ok_values or name not in producer:
            return name in ok_values or name not in ref_values
        if name not in from_inputs:
            from_inputs[name] = False  # a cycle guard; graphs have none
            from_inputs[name] = name not in ref_values and all(
                agrees(n) and n not in ref_values for n in model.node(producer[name]).input if n in producer)
        return from_inputs[name]

    path = tuple(model.node_scopes[cause.node].path or ())
    while path:
        inside = {node_id for scope in model.scopes.find("/".join(path)).walk() for node_id in scope.nodes}
        entering = {name for node_id in inside for name in model.node(node_id).input
                    if name in producer and producer[name] not in inside}
        if all(agrees(name) for name in entering):
            return "/".join(path)
        path = path[:-1]
    return None


#: Ops whose outputs are random by definition (Dropout only in training mode: see _is_random).
RANDOM_OPS = frozenset({"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform",
                        "RandomUniformLike"})


def _is_random(run: Debugger, node: "onnx.NodeProto") -> bool:
    """Whether ``node`` draws random numbers in this run: a random op, or a Dropout told to train
    (its ``training_mode`` input true) with a non-zero ratio."""
    if node.domain not in ("", "ai.onnx"):
        return False
    if node.op_type in RANDOM_OPS:
        return True
    if node.op_type != "Dropout" or len(node.input) < 3 or not node.input[2]:
        return False
    training = bool(np.asarray(run.tensor(node.input[2])).reshape(-1)[0])
    ratio = float(np.asarray(run.tensor(node.input[1])).reshape(-1)[0]) if node.input[1] else 0.5
    return training and ratio > 0


#: The torch side's values inside one of its ops, by the op's value name (see _refine).


def _report(cand: Debugger, ref_values: Mapping[str, Value], ref_label: str, rtol: float, atol: float,
            tolerances: Mapping[str, Tolerance], finer: Finer | None = None,
            alignment: Alignment | None = None, notes: Mapping[str, str] | None = None) -> Report:
    model = cand.model
    notes = notes or {}
    rows, unaligned = [], []
    checked: set[str] = set()  # weights compared so far: each once, at its first reader
    stands_for = alignment.names if alignment is not None else {}
    for node_id in cand.steps:
        node = model.node(node_id)
        node_rtol, node_atol = tolerances.get(node.op_type, (rtol, atol))
        random = _is_random(cand, node)
        for name in (n for n in node.input if n in ref_values and n in model.initializers and n not in checked):
            checked.add(name)
            rows.extend(_weight_rows(node_id, node, model, name, cand.tensor(name), ref_values[name], rtol, atol))
        for name in (o for o in node.output if o):
            if name not in ref_values or name in cand.unexposed:
                unaligned.append(name)
                continue
            for metrics in value_metrics(name, ref_values[name], cand.tensor(name), rtol=node_rtol, atol=node_atol):
                if random:
                    metrics.update(ok=True, note="random op: its values differ from run to run and are not compared")
                label, note = metrics.pop("value"), metrics.pop("note")
                if stands_for.get(name, name) != name:
                    note = "; ".join(filter(None, [f"stands for the reference's {stands_for[name]!r}", note]))
                note = "; ".join(filter(None, [notes.get(name), note]))
                rows.append({"node": node_id, "op_type": node.op_type, "scope": model.scope_path(node_id),
                             "value": label, "reference": stands_for.get(name, name), **metrics,
                             "local_ok": True, "local_max_abs": math.nan, "local_rel_l2": math.nan, "suspects": (),
                             "note": note, "random": random, "weight": False, "output": name})
    columns = ["node", "op_type", "scope", "value", "reference", *METRICS, "local_ok", "local_max_abs",
               "local_rel_l2", "suspects", "note", "random", "weight", "output"]
    # nothing aligned (a graph without nodes): an empty table, with every column
    table = pd.DataFrame(rows, columns=columns).astype({"ok": bool}) if not rows else pd.DataFrame(rows)
    cases: dict[str, dict[str, Value]] = {}
    driven: dict[str, Value] = {}
    rounded: dict[Any, Rounding] = {}  # row label: how the row's node rounds, where it was judged by its format
    if not table.empty and not table.ok.all():
        cases, driven, rounded = _local_errors(cand, ref_values, table, rtol, atol, tolerances)
    table["status"] = ["random" if random else "ok" if ok else
                       ("rounding" if index in rounded and local else "carried" if local else "cause")
                       for index, ok, local, random in zip(table.index, table.ok, table.local_ok, table.random)]
    splits, verdicts = threshold_crossings(cand, table, driven, rtol, atol, tolerances)
    for index, (status, note) in verdicts.items():
        table.at[index, "status"], table.at[index, "note"] = status, note
    precision = _precision_table(table, rounded)
    replays = {node_id: (feeds, {n: ref_values[n] for n in model.node(node_id).output if n in ref_values}, [node_id])
               for node_id, feeds in cases.items()}
    for index in table.index[table.weight.astype(bool) & (table.status == "cause")]:
        node_id, weight = table.at[index, "node"], table.at[index, "output"]
        if node_id in replays:  # replayed with the model's own weight, the one that differs
            feeds, expected, nodes = replays[node_id]
            # where torch has no value for the reader's output (inside a linear), the expected
            # one is the reader's on torch's weight
            expected = expected or cand.run_node(node_id, feeds)
            replays[node_id] = ({**feeds, weight: cand.tensor(weight)}, expected, nodes)
    if finer is not None and (table.status == "cause").any():
        table = _refine(cand, table, ref_values, driven, finer, rtol, atol, replays)
    table = table.drop(columns=["random", "weight", "output"]).reset_index(drop=True)
    report = Report(table, ref_label, f"{model_label(model)} on {cand.provider}", rtol, atol, unaligned, model,
                    precision=precision, splits=splits)
    report._cases = replays
    return report


def _precision_table(table: pd.DataFrame, rounded: Mapping[Any, Rounding]) -> pd.DataFrame:
    """One row per value rounded by its node's format past the tolerances (see Report.precision)."""
    rows = [{"node": table.at[i, "node"], "op_type": table.at[i, "op_type"], "scope": table.at[i, "scope"],
             "value": table.at[i, "value"], "reference": table.at[i, "reference"], "format": r.format,
             "scale": _number(r.scale), "zero_point": _number(r.zero_point),
             "local_sqnr": sqnr_db(table.at[i, "local_rel_l2"]), "sqnr": sqnr_db(table.at[i, "rel_l2"]),
             "beyond_rounding": r.beyond,
             "status": table.at[i, "status"], "rounding": r.describe()} for i, r in rounded.items()]
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def _number(values: np.ndarray | None) -> float:
    """A per-tensor scale or zero point as a number; NaN for none, or for per-axis ones."""
    if values is None:
        return math.nan
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else math.nan


_WEIGHT_NOTE = "a weight that differs from the reference's own"
#: How the note of a node found inside a decomposition begins (see _refine).
_INSIDE = "inside the decomposition of "


def _weight_rows(node_id: str, node: "onnx.NodeProto", model: Model, name: str, weight: Value, reference: Value,
                 rtol: float, atol: float) -> list[dict[str, Any]]:
    """A row for a weight that differs from the reference's own (a parameter, buffer or constant
    of the torch source), at the first node that reads it: that node computes on a wrong value,
    so it is the cause, whatever its own error. A weight that agrees gives no row."""
    if (isinstance(weight, np.ndarray) and isinstance(reference, np.ndarray) and weight.dtype == reference.dtype
            and np.array_equal(weight, reference)):  # the usual case, in one pass: 110M parameters in 0.1 s, not 4 s
        return []
    if stored_within(reference, weight):  # converted to float16, and as close as float16 holds it
        return []
    rows = []
    for metrics in value_metrics(name, reference, weight, rtol=rtol, atol=atol):
        if metrics["ok"]:
            continue
        label, _ = metrics.pop("value"), metrics.pop("note")
        rows.append({"node": node_id, "op_type": node.op_type, "scope": model.scope_path(node_id),
                     "value": label, "reference": name, **metrics, "local_ok": False,
                     "local_max_abs": metrics["max_abs"],
                     "suspects": (), "note": _WEIGHT_NOTE, "random": False,
                     "weight": True, "output": name})
    return rows


def _local_errors(cand: Debugger, ref_values: Mapping[str, Value], table: pd.DataFrame, rtol: float, atol: float,
                  tolerances: Mapping[str, Tolerance]
                  ) -> tuple[dict[str, dict[str, Value]], dict[str, Value], dict[Any, Rounding]]:
    """Runs each node from the first divergence on, alone, on reference-side inputs.

    A value the reference has no counterpart for (inside a decomposition, or a quantized op) is
    recomputed here from reference-side inputs too, so a node's local error never inherits the
    candidate's drift. A node that is off this way lists, as ``suspects``, the unaligned
    nodes feeding it: the fault may sit in one of them. A node that rounds (a dequantization,
    an int8 op, a float16 op: see ``_rounding``) is judged against its format, not the
    tolerances. Returns the inputs each off node ran on here, by node id (what
    ``Report.repro`` writes out), every value as driven from the reference's (its own values,
    and the unaligned ones recomputed from them), and how each row judged by its format rounds.
    """
    cases: dict[str, dict[str, Value]] = {}
    rounded: dict[Any, Rounding] = {}
    model = cand.model
    steps = cand.steps
    position = {node_id: i for i, node_id in enumerate(steps)}
    producer = {o: node_id for node_id in steps for o in model.node(node_id).output if o}
    driven = dict(ref_values)
    off_rows: dict[str, list[Any]] = {}  # node id: the labels of its rows that are off
    for index, node_id in table.node[~table.ok & ~table.weight.astype(bool)].items():
        off_rows.setdefault(node_id, []).append(index)
    found: dict[str, dict[Any, Any]] = {"local_ok": {}, "local_max_abs": {}, "local_rel_l2": {}, "suspects": {},
                                        "note": {}}
    if not off_rows:  # only weights are off: they are causes as they stand
        return cases, driven, rounded
    # from the first node off, a weight's reader included (it runs on the reference's weight
    # here), and from what feeds it through values the reference lacks (a quantization before it)
    first = min(table.node[~table.ok], key=position.__getitem__)
    start = min([position[first], *(position[n] for n in _unaligned_ancestors(model, first, producer, ref_values,
                                                                                 position))])
    for node_id in steps[start:]:
        node = model.node(node_id)
        outputs = [o for o in node.output if o]
        if node_id not in off_rows and all(o in ref_values for o in outputs):
            continue
        try:
            feeds = cand.node_inputs(node_id, driven)
            typed = _as_candidate(cand, feeds)
            local = cand.run_node(node_id, typed)
        except Exception:  # noqa: BLE001 - e.g. a reference input of another shape: no local verdict
            continue
        cases[node_id] = feeds
        driven.update({k: v for k, v in local.items() if k not in ref_values})
        if node_id not in off_rows:
            continue
        node_rtol, node_atol = tolerances.get(node.op_type, (rtol, atol))
        suspects = tuple(_unaligned_ancestors(model, node_id, producer, ref_values, position))
        measured = {row["value"]: row for name in {table.at[i, "output"] for i in off_rows[node_id]}
                    for row in value_metrics(name, ref_values[name], local[name], rtol=node_rtol, atol=node_atol)}
        rounded_inputs = any(typed[n] is not feeds[n] for n in feeds)  # the reference's, made float16 here
        for index in off_rows[node_id]:
            row = measured.get(table.at[index, "value"], {"ok": False, "max_abs": math.nan, "rel_l2": math.nan})
            name = table.at[index, "output"]
            if not row["ok"] and rounded_inputs and _as_stored(ref_values[name], local[name]):
                row = {**row, "ok": True}
            how = rounding(cand, node_id, suspects, ref_values[name]) if not row["ok"] else None
            output = local[name]
            if how is not None and isinstance(output, np.ndarray):
                within_format, beyond = how.judge(np.asarray(ref_values[name]), output)
                rounded[index] = replace(how, beyond=beyond)
                row = {**row, "ok": within_format}
                if row.get("nonfinite_mismatch"):
                    found["note"][index] = (f"overflows {how.format}: {row['nonfinite_mismatch']} Inf or NaN on the "
                                            "reference's own inputs, where the reference has finite values")
            found["local_ok"][index], found["local_max_abs"][index] = row["ok"], row["max_abs"]
            found["local_rel_l2"][index], found["suspects"][index] = row["rel_l2"], suspects
    for column, values in found.items():
        table[column] = [values.get(index, value) for index, value in table[column].items()]
    return cases, driven, rounded


def _as_stored(reference: Value, local: Value) -> bool:
    """Whether ``local`` is the reference's value exactly, as float16 stores it: a node that
    moves data (Reshape, Transpose) or casts back to float32, fed the reference's values made
    float16, rounds nothing itself. Not where float16 cannot hold the reference's value (an
    overflow is a fault, wherever it shows). (A round trip through float16 that the candidate's
    own nodes make, with no float16 value fed, stays the fault it is.)"""
    if not (isinstance(reference, np.ndarray) and isinstance(local, np.ndarray) and local.dtype.kind == "f"
            and reference.dtype.kind == "f" and reference.dtype.itemsize > 2):
        return False
    with np.errstate(over="ignore"):
        stored = reference.astype(np.float16)
    if not np.array_equal(np.isfinite(stored), np.isfinite(reference)):
        return False
    return np.array_equal(stored.astype(local.dtype), local)


def _as_candidate(cand: Debugger, feeds: Mapping[str, Value]) -> dict[str, Value]:
    """``feeds`` in the candidate's own float types: the reference's float32 values go into a
    float16 node as float16 (the rounding a Cast before it would do)."""
    typed = dict(feeds)
    for name, value in feeds.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            continue
        own = cand.tensor(name)
        if isinstance(own, np.ndarray) and own.dtype != value.dtype and own.dtype.kind == "f":
            typed[name] = value.astype(own.dtype)
    return typed


#: How many causes are looked into (the first is the root cause; the rest rarely matter).
_REFINED = 5


def _refine(cand: Debugger, table: pd.DataFrame, ref_values: Mapping[str, Value], driven: Mapping[str, Value],
            finer: Finer, rtol: float, atol: float, replays: dict) -> pd.DataFrame:
    """Looks inside each cause whose fault may sit in a decomposition (it has suspects): the
    exporter wrote one torch op as a chain of ONNX nodes, and the reference has values only at
    the chain's ends. ``finer`` gives the values torch computes inside that op when it is traced
    down to core ATen ops (attention on its math backend); each value inside the chain, driven
    from the reference's inputs, matches one of them or none (same size, within tolerance,
    whatever the layout of dimensions).

    The fault is at the first node of the chain whose inputs all match (or come from outside
    the chain) while its output and everything after it in the chain match nothing: a node
    whose own value torch does not compute (an exporter may scale q and k apart where torch
    scales q) is passed over when a later value matches again. When that node is not the cause
    itself, it becomes the cause (a row of its own, before the cause's, with the errors measured
    at the end of the op: what the fault does there), and the cause carries. Its replay
    (``replays``, for ``Report.repro``) is it and the rest of the chain, on the chain's inputs
    as driven from the reference's, against torch's value at the end of the op.
    This holds for any op torch can trace alone, not only attention and linear: it asks torch
    what the inner values are, instead of knowing each decomposition.
    """
    model = cand.model
    found: dict[int, dict[str, Any]] = {}
    for index in table.index[(table.status == "cause") & table.suspects.map(bool)][:_REFINED]:
        row = table.loc[index]
        inner = [a for a in finer(row.output) if a.dtype.kind in "fc" and a.size]
        if not inner:
            continue
        chain = [*row.suspects, row.node]
        local = _drive(cand, chain, driven or ref_values, ref_values)
        culprit = _first_unmatched(model, chain, local, inner, rtol, atol)
        if culprit is None or culprit == row.node:
            continue
        node = model.node(culprit)
        value = next(o for o in node.output if o)
        rest = chain[chain.index(culprit):]
        produced = {o for n in rest for o in model.node(n).output}
        read = dict.fromkeys(n for node_id in rest for n in model.node(node_id).input if n and n not in produced)
        feeds = {n: local[n] if n in local else cand.tensor(n) for n in read}  # weights: the model's
        replays[culprit] = (feeds, {row.output: ref_values[row.output]}, rest)
        found[index] = {**row.to_dict(), "node": culprit, "op_type": node.op_type,
                        "scope": model.scope_path(culprit), "value": value, "reference": value, "ok": False,
                        "local_ok": False, "suspects": (), "status": "cause", "weight": False, "output": value,
                        "note": f"{_INSIDE}{row.value!r}: its inputs match values torch computes inside "
                                "that op, its output and all after it in the chain match none"}
        table.at[index, "status"] = "carried"
        table.at[index, "note"] = f"its fault is inside, at {culprit!r}"
    if not found:
        return table
    rows = []
    for index, row in table.iterrows():
        if index in found:
            rows.append(found[index])
        rows.append(row.to_dict())
    return pd.DataFrame(rows, columns=table.columns)


#: Past this, a value only masks (attention masks: -inf, or float32's lowest): see _first_unmatched.
_HUGE = 1e30


def _drive(cand: Debugger, chain: Sequence[str], driven: Mapping[str, Value],
           ref_values: Mapping[str, Value]) -> dict[str, Value]:
    """The chain's values computed node by node from the reference's own (where ``driven`` lacks
    them: the local errors recompute only from the first divergence on)."""
    local = dict(driven)
    for node_id in chain:
        if all(o in local for o in cand.model.node(node_id).output if o):
            continue
        try:
            local.update({k: v for k, v in cand.run_node(node_id, local).items() if k not in ref_values})
        except Exception:  # noqa: BLE001 - a node that cannot run alone here: the rest has no values
            break
    return local


def _first_unmatched(model: Model, chain: Sequence[str], driven: Mapping[str, Value], inner: Sequence[np.ndarray],
                     rtol: float, atol: float) -> str | None:
    """The first node of ``chain`` whose inputs from inside the chain match ``inner`` values while
    its output and every value after it match none (see :func:`_refine`)."""
    outputs = {o: node_id for node_id in chain for o in model.node(node_id).output if o}
    # A mask is -inf on one side and float32's lowest on the other: alike past any real value.
    saturated = [np.clip(t.reshape(-1), -_HUGE, _HUGE) for t in inner]

    def matches(name: str) -> bool | None:
        value = driven.get(name)
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fc":
            return None  # masks, indices, shapes: not where numbers go wrong; no verdict
        flat = np.clip(value.reshape(-1), -_HUGE, _HUGE)
        return any(t.size == flat.size and within(t, flat, rtol, atol) for t in saturated)

    verdict = {name: matches(name) for name in outputs}
    verdict.update({o: False for o in model.node(chain[-1]).output if o})  # the cause: off, as found
    for node_id in chain:
        node = model.node(node_id)
        own = [o for o in node.output if o]
        after = [o for o in verdict if o not in own and _downstream(model, node_id, o, outputs)]
        if (all(verdict.get(n) is not False for n in node.input if n)
                and own and all(verdict[o] is False for o in own)
                and not any(verdict[o] for o in after)):
            return node_id
    return None


def _downstream(model: Model, node_id: str, value: str, outputs: Mapping[str, str]) -> bool:
    """Whether ``value`` (an output of a chain node) depends on ``node_id``'s outputs, within the chain."""
    stack, seen = [outputs[value]], set()
    while stack:
        current = stack.pop()
        if current == node_id:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(outputs[n] for n in model.node(current).input if n in outputs)
    return False


def _unaligned_ancestors(model: Model, node_id: str, producer: Mapping[str, str],
                         ref_values: Mapping[str, Value], position: Mapping[str, int]) -> list[str]:
    """Nodes feeding ``node_id`` through values the reference does not have, nearest last."""
    found: set[str] = set()
    stack = [n for n in model.node(node_id).input if n and n not in ref_values and n in producer]
    while stack:
        parent = producer[stack.pop()]
        if parent in found:
            continue
        found.add(parent)
        stack.extend(n for n in model.node(parent).input if n and n not in ref_values and n in producer)
    return sorted(found, key=position.__getitem__)
