"""What ``wb.compare`` compares against: one small class per kind of reference.

Each kind says whether it ``matches`` what the user passed, and ``captures`` the candidate (the
ONNX model, every value kept by the debugger) and the reference's values by ONNX value name.
The kinds are tried in the order of :data:`SOURCES`; ONNX runs come last, since they take
anything :func:`workbench.open` takes. A new framework (Keras, gradient-boosted trees) is one
more class here, and one more entry in that list.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, ClassVar, Mapping, Sequence, cast

import numpy as np

from ..errors import UsageError
from ..model import Model, as_model
from ..model.internal import is_onnx_program
from ..runtime import Debugger, debug
from ..runtime.internal import Value, as_value, check_level, make_feeds, optimized
from ._align import Alignment, adopt_scopes, align, reference_values
from ._keras import as_arrays, is_keras, layer_outputs, layer_values
from ._keras import convert as keras_convert
from ._sklearn import convert, is_sklearn, sklearn_values
from ._sklearn import feeds as sklearn_feeds
from ._torch import finer_values, is_torch_module, module_values, module_weights, program_weights, torch_values
from ._trees import booster_values, convert_booster, is_booster, library, tree_values

#: The values torch computes inside one of its ops, by the ONNX value of the op's output.
Finer = Callable[[str], list[np.ndarray]]


@dataclass
class Run:
    """One way to run an ONNX model: which model, on which provider, at which optimization level.

    ``optimization="all"`` compares the graph onnxruntime actually runs: the model is
    optimized as a session would optimize it, saved, and that graph is captured. Fused
    nodes keep the name of the value they end in, so they align with the authored node
    producing it; values inside a fusion have no counterpart (``Report.unaligned``).
    """

    model: Any
    provider: str | Sequence[str] = "cpu"
    optimization: str = "disabled"

    def graph(self) -> Model:
        """The model this run runs: the optimized graph when ``optimization`` is not "disabled"."""
        model = as_model(self.model)
        if check_level(self.optimization) != "disabled":
            model = optimized(model, self.optimization, self.provider)
        return model

    def capture(self, feeds: Mapping[str, Value], graph: Model | None = None) -> Debugger:
        """The debugger over this run (over ``graph``, its :meth:`graph` as prepared, if given)."""
        return debug(graph if graph is not None else self.graph(), feeds, provider=self.provider)


@dataclass
class Request:
    """What ``compare`` was asked, beside the source itself."""

    inputs: Mapping[str, Any] | None
    onnx: Any
    provider: str | Sequence[str]
    dims: Mapping[str, int] | None
    reference: str | Sequence[str] | Run | None
    candidate: Any


@dataclass
class Reference:
    """The reference side of a comparison: values by ONNX value name, and how to look closer."""

    values: Mapping[str, Value]
    label: str
    #: values inside a torch op (only an exported program gives them)
    finer: Finer | None = None
    #: values per module output (forward hooks): the report names the module around the cause
    by_module: bool = False
    #: which reference value each candidate value stands for, where the candidate is a rewrite of
    #: the reference (quantized, float16, fused): the values above are keyed by the candidate's names
    alignment: Alignment | None = None
    #: what a row of a value should say beside its metrics (a layout the reference's value was
    #: brought into before comparing), by ONNX value name
    notes: Mapping[str, str] = field(default_factory=dict)


class Source(ABC):
    """One kind of reference: :meth:`matches` what the user passed, :meth:`capture` both sides.
    Each kind defines both; kinds are used as classes, never instantiated."""

    #: Whether ``reference=`` means anything for this kind (it picks one side of two ONNX runs).
    takes_reference: ClassVar[bool] = False

    @staticmethod
    @abstractmethod
    def matches(source: Any) -> bool:
        """Whether ``source`` is this kind of reference."""

    @staticmethod
    @abstractmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        """The candidate's run (the debugger over the ONNX model) and the reference's values."""


class TorchProgram(Source):
    """A ``torch.onnx.ONNXProgram``: the exported program runs through ``torch.fx.Interpreter``,
    whose node names are the ONNX value names; ``onnx=`` another ONNX file of the same export."""

    matches = staticmethod(is_onnx_program)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        model = as_model(request.onnx if request.onnx is not None else source.model_proto)
        feeds = make_feeds(model, request.inputs, dims=request.dims)
        names = [i.name for i in model.proto.graph.input]  # an edited copy keeps the export's inputs
        values = torch_values(source, feeds, names)
        reference = Reference({**values, **program_weights(source, values, model)}, "torch",
                              finer=partial(finer_values, source, values))
        return debug(model, feeds, provider=request.provider), reference


class Keras(Source):
    """A Keras model, Keras 3 or tf_keras, vs its ONNX conversion (made here when ``onnx=`` is left
    out: Keras 3's own export, or tf2onnx's ``from_keras`` for tf_keras), layer by layer: each
    layer's output against the value its scope hands on, in the graph's layout."""

    matches = staticmethod(is_keras)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        arrays = as_arrays(source, request.inputs)
        if request.onnx is None:
            model, route = keras_convert(source, arrays)
            label = f"keras (layer outputs; converted by {route})"
        else:
            model, label = as_model(request.onnx), "keras (layer outputs)"
        names = [i.name for i in model.proto.graph.input if i.name not in model.initializers]
        if len(names) != len(arrays):
            raise UsageError(f"The ONNX model has {len(names)} input(s) {names}, the Keras inputs given are "
                             f"{len(arrays)}: pass one array per input, in order.")
        feeds = make_feeds(model, dict(zip(names, arrays)), dims=request.dims)
        cand = debug(model, feeds, provider=request.provider)
        values, notes = layer_values(source, model, layer_outputs(source, arrays), cand.get)
        return cand, Reference(values, label, notes=notes)


class TorchModule(Source):
    """A ``torch.nn.Module`` and its export made any way (TorchScript too): its submodules'
    outputs, caught by forward hooks, aligned by the graph's scopes."""

    matches = staticmethod(is_torch_module)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        if request.onnx is None:
            raise UsageError("Comparing a torch module needs its ONNX export: compare(module, inputs, onnx=model) "
                             "(or pass the ONNXProgram that torch.onnx.export returns).")
        model = as_model(request.onnx)
        feeds = make_feeds(model, request.inputs, dims=request.dims)
        cand = debug(model, feeds, provider=request.provider)
        values = {**module_values(source, feeds, model), **module_weights(source, model)}
        return cand, Reference(values, "torch (module outputs)", by_module=True)


class Sklearn(Source):
    """A fitted scikit-learn estimator or pipeline vs its skl2onnx conversion (made here when
    ``onnx=`` is left out), step by step; XGBoost's and LightGBM's scikit-learn API too, their
    onnxmltools converters registered with skl2onnx."""

    matches = staticmethod(is_sklearn)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        inputs = request.inputs
        data = _data(request, "a scikit-learn model", "compare(estimator, X, onnx=model)")
        model, topology = convert(source, data) if request.onnx is None else (as_model(request.onnx), None)
        feeds = make_feeds(model, sklearn_feeds(model, inputs), dims=request.dims)
        cand = debug(model, feeds, provider=request.provider)
        values = sklearn_values(source, data, model, partial(_shape, cand), topology)
        return cand, Reference(tree_values(cand, values, source), "scikit-learn")


class Booster(Source):
    """A raw ``xgboost.Booster`` or ``lightgbm.Booster`` vs its onnxmltools conversion (made here
    when ``onnx=`` is left out): its predictions, as the values of the model's tree ensemble.
    Both sides get the rows as float32, the one input type onnxmltools' converters give."""

    matches = staticmethod(is_booster)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        X = np.asarray(_data(request, "a Booster", "compare(booster, X, onnx=model)"), dtype=np.float32)
        model = convert_booster(source, X) if request.onnx is None else as_model(request.onnx)
        feeds = make_feeds(model, sklearn_feeds(model, X), dims=request.dims)
        cand = debug(model, feeds, provider=request.provider)
        return cand, Reference(tree_values(cand, booster_values(source, X, model), source), str(library(source)))


class SavedArrays(Source):
    """A dict of arrays saved by any framework, by ONNX value name."""

    @staticmethod
    def matches(source: Any) -> bool:
        return isinstance(source, Mapping)

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        if request.onnx is None:
            raise UsageError("Comparing saved arrays needs the ONNX model: compare(arrays, inputs, onnx=model).")
        model = as_model(request.onnx)
        feeds = make_feeds(model, request.inputs, dims=request.dims)
        values = {k: as_value(v) for k, v in source.items()}
        return debug(model, feeds, provider=request.provider), Reference(values, "saved arrays")


class OnnxRuns(Source):
    """Two ONNX runs: another model (``candidate="fp16.onnx"``), the same model on another
    backend (``candidate="cuda"``), or the graph onnxruntime optimizes (``candidate=Run(...)``)."""

    takes_reference = True

    @staticmethod
    def matches(source: Any) -> bool:
        return True  # anything workbench.open takes, or a Run

    @staticmethod
    def capture(source: Any, request: Request) -> tuple[Debugger, Reference]:
        candidate, reference, provider = request.candidate, request.reference, request.provider
        if candidate is None:
            raise UsageError("Comparing ONNX runs needs a candidate: another model, or a provider such as "
                             "candidate='cuda' or candidate='reference'.")
        if isinstance(source, Run):
            ref = source
        elif isinstance(reference, Run):
            ref = reference
        else:
            ref = Run(source, provider if reference is None else reference)
        model = as_model(ref.model)
        ref = replace(ref, model=model)  # opened once: capture() would open a path again
        feeds = make_feeds(model, request.inputs, dims=request.dims)
        ref_run = ref.capture(feeds)
        if isinstance(candidate, (str, list, tuple)) and not _names_a_file(candidate):
            candidate = Run(model, candidate)  # a provider (or providers) for the same model
        run = candidate if isinstance(candidate, Run) else Run(candidate, provider)
        graph = run.graph()
        alignment = align(graph, ref_run.model)
        cand = run.capture(feeds, adopt_scopes(graph, ref_run.model, alignment))
        values = {**{i.name: ref_run.tensor(i.name) for i in ref_run.model.proto.graph.input}, **run_values(ref_run)}
        # weights the candidate holds in another form (dequantized, float16): the reference's own
        values.update({theirs: ref_run.tensor(theirs) for mine, theirs in alignment.names.items()
                       if theirs in ref_run.model.initializers and _rewritten(graph, mine, ref_run.model, theirs)})
        label = f"{model_label(ref_run.model)} on {ref_run.provider}"
        return cand, Reference(reference_values(alignment, values), label, alignment=alignment)


#: The kinds of reference, in the order they are tried.
SOURCES: list[type[Source]] = [TorchProgram, Keras, TorchModule, Sklearn, Booster, SavedArrays, OnnxRuns]


def source_kind(source: Any) -> type[Source]:
    """The first kind in :data:`SOURCES` that matches ``source``."""
    return next(kind for kind in SOURCES if kind.matches(source))


def model_label(model: Model) -> str:
    """How a report names a model: its file when it has one (two versions often share a graph name)."""
    return model.path.name if model.path is not None else (model.name or "model")


def run_values(run: Debugger) -> dict[str, Value]:
    """Every value a run's nodes computed, by name (bar those its provider would not give)."""
    names = [o for node_id in run.steps for o in run.model.node(node_id).output if o and o not in run.unexposed]
    return {name: run.tensor(name) for name in names}


def _data(request: Request, what: str, usage: str) -> Any:
    """The data set a model of a library is compared on: ``X``, or the array of ``{name: X}``."""
    inputs = request.inputs
    if inputs is None:
        raise UsageError(f"Comparing {what} needs its input data: {usage}.")
    return next(iter(inputs.values())) if isinstance(inputs, Mapping) and len(inputs) == 1 else inputs


def _rewritten(model: Model, name: str, reference: Model, weight: str) -> bool:
    """Whether candidate value ``name`` stands for reference weight ``weight`` in another form: a
    node computes it (a dequantization), or it is a weight of another type (float16)."""
    mine = model.initializers.get(name)
    return mine is None or mine.data_type != reference.initializers[weight].data_type


def _shape(run: Debugger, name: str) -> tuple[int, ...] | None:
    """The shape of value ``name`` in ``run``; None where the run has no such value."""
    value = run.get(name)
    return None if value is None else np.shape(cast(Any, value))  # a sequence's too: the number of its items


def _names_a_file(candidate: Any) -> bool:
    """Whether a string candidate is a model's path (an existing file, or a ``.onnx`` name),
    not a provider: ``candidate="fp16.onnx"`` is a model, ``candidate="cuda"`` a provider."""
    return isinstance(candidate, str) and (candidate.lower().endswith(".onnx") or os.path.isfile(candidate))
