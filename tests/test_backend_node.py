"""The ONNX backend test cases, every one through the workbench: open, debug on onnxruntime,
debug on the reference evaluator.

The cases are onnx's node tests (about 1,900: one model per op and variant, with its inputs),
generated from the installed onnx the way ``backend-test-tools generate-data`` does and cached
under pytest's cache folder (keyed by the onnx version; see ``backend_node_data``), plus the
``simple``, ``pytorch-converted`` and ``pytorch-operator`` cases the wheel ships. Each case runs
three steps, one test each, with the case name as the test id
(``-k "test_abs and cpu"``, or ``test_backend_node.py::test_cpu[test_abs]``):

``open``
    ``wb.open`` and every table (nodes, tensors, ops, scopes), the summary card (text and
    HTML), the view payload and the static picture's DOT source succeed, and every dtype the
    card, the tables and the view name is the one the model declares, by its ONNX name.
    (Graphviz itself is not run: a ``dot`` process per case would cost more than the rest of
    the suite.)
``cpu``
    ``wb.debug(provider="cpu")`` captures, bit for bit, what a plain onnxruntime session at
    ``ORT_DISABLE_ALL`` computes for the same model with every main-graph node output made a
    graph output: every value, its dtype and shape (NaN matching NaN). Where that session cannot
    load or run the model, ``wb.debug`` must raise a ``WorkbenchError`` that names onnxruntime
    and says what it lacks.
``reference``
    The same against ``onnx.reference.ReferenceEvaluator(model).run(None, feeds,
    intermediate=True)``.

A backend that legitimately cannot run a case is not a failure when the error is typed and
says why; the reason is recorded (``record_property("outcome", ...)``), and
``python tests/test_backend_node.py`` (any pytest options after it, e.g. ``-n 2``) runs the
suite and prints the totals per step as a markdown table.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import workbench as wb
from workbench.errors import WorkbenchError
from workbench.model.internal import card_html

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import backend_node_data as data
finally:
    sys.path.pop(0)

pytestmark = [
    pytest.mark.slow,  # thousands of cases, three runs each: minutes
    # Some cases fail onnx.checker on purpose (the checker's rules lag the ops); they open with a warning.
    pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning"),
    # The cases compute inf and NaN on purpose (log of zero, 0/0).
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]

#: Ops whose outputs are random (and Dropout given a training_mode input, see :func:`random_values`):
#: onnxruntime and the reference evaluator draw other numbers than the capture's own run, so
#: their values, and anything computed from them, are compared by dtype and shape only.
RANDOM_OPS = {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"}
STEPS = ("open", "cpu", "reference")
STEP_TITLES = {"open": "open, tables, card, view", "cpu": "debug on onnxruntime (CPU)",
               "reference": "debug on the reference evaluator"}


# ---- the cases -------------------------------------------------------------------------------


def _generated(config: pytest.Config) -> Path:
    """The generated node cases: under pytest's cache (``.pytest_cache``), made on first use."""
    cache = getattr(config, "cache", None)  # None when run with -p no:cacheprovider
    base = cache.mkdir(data.cache_key()) if cache is not None else Path(tempfile.gettempdir()) / data.cache_key()
    return data.ensure_generated(base)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrizes each step by case, module-scoped, so that pytest runs a case's three steps one
    after the other and the case is loaded and opened once (``loaded``).

    The case names are the test ids, so they must be known when tests are collected: the cases
    are generated (or found in the cache) here, not in a fixture.
    """
    if "case" in metafunc.fixturenames:
        cases = data.list_cases(_generated(metafunc.config))
        metafunc.parametrize("case", cases, ids=[c.id for c in cases], scope="module")


@dataclass
class Loaded:
    """One case read back: its model, inputs, and the workbench's Model (or why it did not open)."""

    case: data.Case
    proto: onnx.ModelProto
    feeds: dict[str, Any]
    model: Any = None
    open_error: BaseException | None = None


@pytest.fixture(scope="module")
def loaded(case: data.Case) -> Loaded:
    """The case, read and opened once for its three steps."""
    return load(case)


def load(case: data.Case) -> Loaded:
    """Reads a case and opens its model (a failure to open is kept for the open step to report)."""
    proto, feeds = data.load_case(case)
    result = Loaded(case, proto, feeds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wb.errors.ModelCheckWarning)
            result.model = wb.open(proto)
    except Exception as exc:  # noqa: BLE001 - the open step reports it
        result.open_error = exc
    return result


# ---- outcomes --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one step of one case came to: ``status`` is ``pass``, ``typed error`` (the backend
    cannot run the case, and the workbench said so), or a failure (any other status)."""

    status: str
    reason: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "typed error")

    @property
    def label(self) -> str:
        return f"{self.status}: {self.reason}" if self.reason else self.status


# ---- comparing values --------------------------------------------------------------------------


def _bits(array: np.ndarray) -> np.ndarray:
    """The array's elements as unsigned integers of the same width (its bit patterns)."""
    return np.ascontiguousarray(array).view(f"u{array.dtype.itemsize}")


def _is_float(dtype: np.dtype) -> bool:
    """True for float types, numpy's and ml_dtypes' (bfloat16, float8, float4): those have NaN to match."""
    if np.issubdtype(dtype, np.floating):
        return True
    try:
        ml_dtypes.finfo(dtype)
        return True
    except (ValueError, TypeError):  # int4, int2: ml_dtypes types without a finfo
        return False


def difference(actual: Any, expected: Any, where: str = "", shape_only: bool = False) -> str | None:
    """How ``actual`` differs from ``expected``, in words; None when they are the same bit for bit.

    Values are tensors (arrays of the declared dtype), sequences (lists), maps (dicts) and
    optionals (None when empty), nested. NaN equals NaN at the same position, whatever its
    payload bits; ``shape_only`` compares dtypes and shapes only (random values).
    """
    at = f" at {where}" if where else ""
    if expected is None or actual is None:
        return None if expected is None and actual is None else f"{_kind(actual)} vs expected {_kind(expected)}{at}"
    if isinstance(expected, (list, dict)) or isinstance(actual, (list, dict)):
        if type(actual) is not type(expected):
            return f"{_kind(actual)} vs expected {_kind(expected)}{at}"
        if len(actual) != len(expected):
            return f"{len(actual)} items vs expected {len(expected)}{at}"
        if isinstance(expected, dict):
            if set(actual) != set(expected):
                return f"keys {sorted(actual)[:5]} vs expected {sorted(expected)[:5]}{at}"
            pairs = [(f"{where}[{k!r}]", actual[k], expected[k]) for k in expected]
        else:
            pairs = [(f"{where}[{i}]", a, e) for i, (a, e) in enumerate(zip(actual, expected))]
        return next((d for w, a, e in pairs if (d := difference(a, e, w, shape_only))), None)
    if not isinstance(actual, np.ndarray):
        return f"{type(actual).__name__} vs expected an array{at}"
    expected = np.asarray(expected)
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype} vs expected {expected.dtype}{at}"
    if actual.shape != expected.shape:
        return f"shape {actual.shape} vs expected {expected.shape}{at}"
    if shape_only or actual.size == 0:
        return None
    if actual.dtype.kind in "OUS":
        same = np.array([a == e for a, e in zip(actual.reshape(-1).tolist(), expected.reshape(-1).tolist())])
    elif actual.dtype.kind == "c":  # real and imaginary parts, each with its NaNs
        width = actual.dtype.itemsize // 2
        return difference(actual.view(f"f{width}"), expected.view(f"f{width}"), where)
    else:
        same = (_bits(actual) == _bits(expected)).reshape(-1)
        if _is_float(actual.dtype):
            nan_a, nan_e = np.isnan(actual).reshape(-1), np.isnan(expected).reshape(-1)
            same = np.where(nan_a | nan_e, nan_a == nan_e, same)
    if same.all():
        return None
    first = int(np.argmin(same))
    return (f"{int((~same).sum())} of {same.size} elements differ{at}; first at flat index {first}: "
            f"{actual.reshape(-1)[first]!r} vs expected {expected.reshape(-1)[first]!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "an empty optional"
    if isinstance(value, np.ndarray):
        return f"an array {value.dtype}{list(value.shape)}"
    return f"a {type(value).__name__}"


def random_values(graph: onnx.GraphProto) -> set[str]:
    """The main-graph values that are random, or computed from random values."""
    tainted: set[str] = set()
    for node in graph.node:
        training = node.op_type == "Dropout" and len(node.input) > 2 and node.input[2] != ""
        if node.op_type in RANDOM_OPS or training or tainted & set(node.input):
            tainted.update(o for o in node.output if o)
    return tainted


def node_outputs(graph: onnx.GraphProto) -> list[str]:
    """Every value the main graph's nodes write, in order."""
    return list(dict.fromkeys(o for node in graph.node for o in node.output if o))


# ---- the plain backends (what the workbench must agree with) ----------------------------------------

#: The element types numpy lacks, which onnx (and the workbench) hold as ml_dtypes arrays, and
#: onnxruntime's Python API does not give or take as arrays (float8e4m3fn comes out as its
#: uint8 bits, the others raise): ``{onnx type: dtype}``. They cross as OrtValues' bytes here.
_ML_TYPES = {code: np.dtype(helper.tensor_dtype_to_np_dtype(code)) for code in TensorProto.DataType.values()
             if code not in (TensorProto.UNDEFINED, TensorProto.STRING)
             and np.dtype(helper.tensor_dtype_to_np_dtype(code)).type.__module__.startswith("ml_dtypes")}
#: onnxruntime's type strings for them: ``{"tensor(float8e4m3fn)": onnx type}``.
_ORT_ML_TYPES = {f"tensor({TensorProto.DataType.Name(code).lower()})": code for code in _ML_TYPES}


class PythonAPILimit(Exception):
    """The value's type cannot cross onnxruntime's Python API, even as raw bytes."""


def _ort_input(value: Any) -> Any:
    """``value`` as onnxruntime's ``run`` takes it: an ml_dtypes tensor as an OrtValue holding its
    bytes (packed as ONNX stores them: onnx's ``from_array`` packs int4 two to a byte)."""
    if isinstance(value, np.ndarray) and value.dtype in _ML_TYPES.values():
        code = helper.np_dtype_to_tensor_dtype(value.dtype)
        raw = numpy_helper.from_array(value).raw_data
        ort_value = ort.OrtValue.ortvalue_from_shape_and_type(list(value.shape), code)
        ctypes.memmove(ort_value.data_ptr(), raw, len(raw))
        return ort_value
    if isinstance(value, list) and any(isinstance(v, np.ndarray) and v.dtype in _ML_TYPES.values() for v in value):
        raise PythonAPILimit("a sequence of ml_dtypes tensors cannot be given to onnxruntime's Python API")
    return value


def _ort_output(ort_value: Any, type_string: str) -> Any:
    """A tensor OrtValue as an array of its declared dtype, read from its bytes when numpy has no
    such type (through an ONNX TensorProto: onnx's own unpacking of sub-byte types)."""
    code = _ORT_ML_TYPES.get(type_string)
    if code is None:
        return ort_value.numpy()
    raw = ctypes.string_at(ort_value.data_ptr(), ort_value.tensor_size_in_bytes())
    return numpy_helper.to_array(helper.make_tensor("v", code, ort_value.shape(), raw, raw=True))


def run_onnxruntime(proto: onnx.ModelProto, feeds: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A plain onnxruntime session at ORT_DISABLE_ALL on ``proto`` with ``names`` made graph outputs:
    every value it computes. Raises onnxruntime's own exceptions (or :class:`PythonAPILimit`)."""
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    declared = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in declared)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4  # the failures are the test's to report, not the log's
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    inputs = {k: _ort_input(v) for k, v in feeds.items()}
    outputs = session.get_outputs()
    types = {o.name: o.type for o in outputs}
    if not any(t in _ORT_ML_TYPES for t in types.values()):
        return dict(zip((o.name for o in outputs), session.run(None, inputs)))
    if not all(t.startswith("tensor(") for t in types.values()):
        raise PythonAPILimit("onnxruntime's Python API hands out no sequence or optional from an OrtValue, and no "
                             "ml_dtypes tensor as an array")
    # run_with_ort_values takes OrtValues only
    inputs = {k: ort.OrtValue.ortvalue_from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}
    values = session.run_with_ort_values(None, inputs)
    return {o.name: _ort_output(v, o.type) for o, v in zip(outputs, values)}


def run_reference(proto: onnx.ModelProto, feeds: dict[str, Any]) -> dict[str, Any]:
    """Every value the reference evaluator computes (its own exceptions raised), optionals as
    None or their value (see :func:`from_evaluator`)."""
    from onnx.reference import ReferenceEvaluator

    values = ReferenceEvaluator(proto).run(None, feeds, intermediate=True)
    types = value_types(proto)
    return {name: from_evaluator(value, types.get(name)) for name, value in values.items()}


def value_types(proto: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """The type of every main-graph value that the model declares or onnx's shape inference finds."""
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:  # noqa: BLE001 - then what the model declares is all there is
        inferred = proto
    graph = inferred.graph
    return {info.name: info.type for info in (*graph.value_info, *graph.input, *graph.output)}


def from_evaluator(value: Any, type_proto: onnx.TypeProto | None) -> Any:
    """The reference evaluator's value as the workbench represents it.

    The evaluator's ``Optional`` op wraps its value in a one-item list (``[x]``, ``[None]``,
    ``[[t1, t2]]`` for an optional sequence), and ``OptionalGetElement`` passes that list on as
    the "tensor"; optionals fed as inputs are not wrapped. A one-item list where the type says
    optional (holding a tensor, or holding a sequence and itself holding a list or None) or
    tensor is the wrapper.
    """
    kind = type_proto.WhichOneof("value") if type_proto is not None else None
    if kind == "optional_type":
        inner = type_proto.optional_type.elem_type
        if isinstance(value, list) and len(value) == 1 and (
                inner.WhichOneof("value") != "sequence_type" or value[0] is None or isinstance(value[0], list)):
            value = value[0]
        return None if value is None else from_evaluator(value, inner)
    if kind == "tensor_type" and isinstance(value, list) and len(value) == 1:
        return from_evaluator(value[0], type_proto)
    if kind == "sequence_type" and isinstance(value, list):
        return [from_evaluator(v, type_proto.sequence_type.elem_type) for v in value]
    return value


# ---- why a backend cannot run a case -------------------------------------------------------------

#: ``(reason, what the backend's own error says, what the workbench's message must say)``; first
#: match wins. The workbench's message carries the runtime's words, so the two patterns are mostly one.
ORT_REASONS = [
    ("onnxruntime: no kernel", r"Could not find an implementation|Failed to find kernel",
     r"Could not find an implementation|Failed to find kernel"),
    ("onnxruntime: op not registered", r"No Op registered|is not a registered function/op",
     r"No Op registered|is not a registered function/op"),
    ("onnxruntime: type not supported by Python API",
     r"No corresponding Numpy type|can't be converted to MLDataType|Python API",
     r"Numpy type|MLDataType|Python API|element type"),
    ("onnxruntime: kernel rejects the node's attributes", r"Exception during initialization",
     r"Exception during initialization|not supported"),
    ("onnxruntime: kernel fails at run time", r"Non-zero status code returned while running",
     r"Non-zero status code returned while running|Status Message"),
]
REFERENCE_REASONS = [
    ("reference evaluator: op not implemented", r"No registered implementation|not implemented",
     r"No registered implementation|not implemented"),
    ("reference evaluator: fails at run time", r".", r"."),
]


def _reason(exc: BaseException, reasons: list[tuple[str, str, str]], backend: str) -> tuple[str, str]:
    """``(reason, pattern the workbench's message must match)`` for the backend's own failure."""
    words = f"{type(exc).__name__}: {exc}"
    return next(((name, expected) for name, found, expected in reasons if re.search(found, words)),
                (f"{backend}: other failure", r"."))


def _typed_outcome(error: BaseException, plain: BaseException, reasons: list[tuple[str, str, str]],
                   backend: str, backend_words: str) -> Outcome:
    """The outcome where the plain backend failed: the workbench must have failed typed, naming the
    backend and what it lacks."""
    reason, expected = _reason(plain, reasons, backend)
    message = str(error)
    if not isinstance(error, WorkbenchError):
        return Outcome("untyped error", type(error).__name__, f"{message[:300]} (the backend: {plain!s:.200})")
    if "unknown input" in message or not re.search(backend_words, message) or not re.search(expected, message):
        return Outcome("typed error that does not say why", reason,
                       f"{type(error).__name__}: {message[:400]} (the backend: {plain!s:.200})")
    return Outcome("typed error", reason)


# ---- the steps -------------------------------------------------------------------------------------

#: The ONNX name of every element type, as the card, the tables and the view must show it:
#: numpy's name where numpy has the type (float32, int64, bool), ONNX's own lower-case name for
#: the rest (bfloat16, float8e4m3fn, int4, string).
DTYPE_NAMES = {code: TensorProto.DataType.Name(code).lower() for code in TensorProto.DataType.values()}
DTYPE_NAMES.update({TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64"})
#: Integer attributes that hold an element type (Cast's ``to``, RandomNormal's ``dtype`` …), named like one.
DTYPE_ATTRIBUTES = {"to", "dtype", "output_dtype", "output_datatype", "stash_type", "softmax_precision", "precision"}


def type_name(type_proto: onnx.TypeProto) -> str:
    """The name a value of this type must be shown with: its element type's name for a tensor;
    ``seq(...)``, ``optional(...)``, ``map(key,value)`` and ``sparse(...)`` around it otherwise."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return DTYPE_NAMES[type_proto.tensor_type.elem_type]
    if kind == "sparse_tensor_type":
        return f"sparse({DTYPE_NAMES[type_proto.sparse_tensor_type.elem_type]})"
    if kind == "sequence_type":
        return f"seq({type_name(type_proto.sequence_type.elem_type)})"
    if kind == "optional_type":
        return f"optional({type_name(type_proto.optional_type.elem_type)})"
    if kind == "map_type":
        return f"map({DTYPE_NAMES[type_proto.map_type.key_type]},{type_name(type_proto.map_type.value_type)})"
    return ""


def _dtype_problems(proto: onnx.ModelProto, model: Any, index: Any, payload: dict) -> list[str]:
    """Where the card, the tables or the view name a dtype other than the model declares."""
    problems = []
    declared = {i.name: i.type for i in (*proto.graph.input, *proto.graph.output, *proto.graph.value_info)}
    summary = payload["summary"]
    for entry in (*summary["inputs"], *summary["outputs"]):
        want = type_name(declared[entry["name"]])
        if entry["dtype"] != want:
            problems.append(f"card: {entry['name']!r} is {entry['dtype']!r}, declared {want!r}")
    weights = {t.name: DTYPE_NAMES[t.data_type] for g in _graphs(proto.graph) for t in g.initializer}
    for name, shown in model.tensors["dtype"].items():
        if shown != weights[name]:
            problems.append(f"tensors table: {name!r} is {shown!r}, stored as {weights[name]!r}")
    known = {*DTYPE_NAMES.values(), ""}  # "": no type inferred
    pattern = re.compile(r"(seq|optional|sparse|map)\(.*\)")
    for outputs, dtypes in zip(model.nodes["outputs"], model.nodes["output_dtypes"]):
        for name, shown in zip(outputs, dtypes):
            if name in declared and shown != type_name(declared[name]) and shown != "":
                problems.append(f"nodes table: {name!r} is {shown!r}, declared {type_name(declared[name])!r}")
            elif shown not in known and not pattern.fullmatch(shown):
                problems.append(f"nodes table: {name!r} is {shown!r}, not an ONNX type name")
    for group in payload["groups"].values():  # the graph's input and output boxes
        for item in group["items"]:
            if item["kind"] in ("input", "output") and item["label"] in declared \
                    and item["dtype"] != type_name(declared[item["label"]]):
                problems.append(f"view: the {item['kind']} {item['label']!r} is {item['dtype']!r}, "
                                f"declared {type_name(declared[item['label']])!r}")
    for node_id, details in (payload.get("details") or {}).items():
        record = model.records_by_id.get(node_id)
        node = record.node if record is not None else index._function_nodes[node_id][0]  # a function's node
        codes = {a.name: a.i for a in node.attribute if a.type == onnx.AttributeProto.INT}
        for attribute, shown in details["attributes"]:
            if attribute in DTYPE_ATTRIBUTES and codes.get(attribute) in DTYPE_NAMES and node.domain != "ai.onnx.ml" \
                    and shown != DTYPE_NAMES[codes[attribute]]:
                problems.append(f"view details: {node.op_type}'s {attribute}={codes[attribute]} is shown as {shown!r}, "
                                f"not {DTYPE_NAMES[codes[attribute]]!r}")
        for entry in (*details["inputs"], *details["outputs"]):
            name, shown = entry["name"], entry["dtype"]
            if name in declared and shown not in ("", type_name(declared[name])):
                problems.append(f"view details: {name!r} is {shown!r}, declared {type_name(declared[name])!r}")
    return problems


def _graphs(graph: onnx.GraphProto) -> list[onnx.GraphProto]:
    """``graph`` and every graph in its nodes' attributes (If, Loop, Scan bodies …), nested."""
    found = [graph]
    for node in graph.node:
        for attr in node.attribute:
            for body in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                found += _graphs(body)
    return found


def check_open(item: Loaded) -> Outcome:
    """Step 1: the model opens, and its tables, card, view payload and DOT source build."""
    if item.open_error is not None:
        return _failed("wb.open", item.open_error)
    model = item.model
    stage = "tables"
    try:
        model.nodes, model.tensors, model.ops, model.scopes  # noqa: B018 - built on first use
        stage = "card"
        repr(model), card_html(model.card_data())
        stage = "view"
        index = model.view_index  # build_view(model), kept on the model for to_graphviz
        payload = index.payload()
        json.dumps(payload)  # what the front end receives
        model.to_graphviz().source  # noqa: B018 - the static picture, short of running graphviz
        stage = "dtype names"
        problems = _dtype_problems(item.proto, model, index, payload)
    except Exception as exc:  # noqa: BLE001 - reported, by stage
        return _failed(stage, exc)
    if problems:
        return Outcome("wrong result", "dtype names", "; ".join(problems[:5]))
    return Outcome("pass")


def _failed(stage: str, exc: BaseException) -> Outcome:
    """A failure of the open step, where nothing may fail: typed or not, by stage."""
    status = "typed error where it must succeed" if isinstance(exc, WorkbenchError) else "untyped error"
    return Outcome(status, f"{stage}: {type(exc).__name__}", str(exc)[:400])


def _debug(item: Loaded, provider: str) -> tuple[Any, BaseException | None]:
    """``(debugger, None)``, or ``(None, what wb.debug raised)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wb.debug(item.model, item.feeds, provider=provider), None
    except Exception as exc:  # noqa: BLE001 - classified by the caller
        return None, exc


def _compare_run(debugger: Any, expected: dict[str, Any], names: list[str], graph: onnx.GraphProto) -> Outcome:
    """The debugger's values against the plain backend's, every node output and graph output."""
    random = random_values(graph)
    try:
        for name in names:
            if name not in expected:
                return Outcome("wrong result", "", f"the plain backend computed no value {name!r}: the comparison "
                               "cannot check it")
            found = difference(debugger.tensor(name), expected[name], name, shape_only=name in random)
            if found:
                return Outcome("wrong result", "", found)
        outputs = debugger.outputs
        for name, value in outputs.items():
            if name in expected:
                found = difference(value, expected[name], f"output {name}", shape_only=name in random)
                if found:
                    return Outcome("wrong result", "", found)
    except Exception as exc:  # noqa: BLE001 - reading the captured values must not fail either
        return Outcome("untyped error" if not isinstance(exc, WorkbenchError) else "wrong result",
                       f"reading values: {type(exc).__name__}", str(exc)[:400])
    return Outcome("pass", "random values compared by dtype and shape" if random else "")


def check_cpu(item: Loaded) -> Outcome:
    """Step 2: ``wb.debug(provider="cpu")`` against a plain onnxruntime session."""
    if item.model is None:
        return Outcome("not opened")
    names = node_outputs(item.proto.graph)
    try:
        expected, plain = run_onnxruntime(item.proto, item.feeds, names), None
    except Exception as exc:  # noqa: BLE001 - the backend cannot run the case: the workbench must say so
        expected, plain = None, exc
    debugger, error = _debug(item, "cpu")
    if plain is not None:
        if error is None:
            return Outcome("ran where onnxruntime fails", _reason(plain, ORT_REASONS, "onnxruntime")[0],
                           str(plain)[:300])
        return _typed_outcome(error, plain, ORT_REASONS, "onnxruntime", r"onnxruntime")
    if error is not None:
        status = "typed error where onnxruntime runs" if isinstance(error, WorkbenchError) else "untyped error"
        return Outcome(status, type(error).__name__, str(error)[:400])
    return _compare_run(debugger, expected, names, item.proto.graph)


def check_reference(item: Loaded) -> Outcome:
    """Step 3: ``wb.debug(provider="reference")`` against the reference evaluator itself."""
    if item.model is None:
        return Outcome("not opened")
    names = node_outputs(item.proto.graph)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected, plain = run_reference(item.proto, item.feeds), None
    except Exception as exc:  # noqa: BLE001
        expected, plain = None, exc
    debugger, error = _debug(item, "reference")
    if plain is not None:
        if error is None:
            return Outcome("ran where the reference evaluator fails", _reason(plain, REFERENCE_REASONS, "reference")[0],
                           str(plain)[:300])
        return _typed_outcome(error, plain, REFERENCE_REASONS, "reference evaluator", r"reference evaluator")
    if error is not None:
        status = ("typed error where the reference evaluator runs" if isinstance(error, WorkbenchError)
                  else "untyped error")
        return Outcome(status, type(error).__name__, str(error)[:400])
    return _compare_run(debugger, expected, names, item.proto.graph)


CHECKS: dict[str, Callable[[Loaded], Outcome]] = {"open": check_open, "cpu": check_cpu, "reference": check_reference}


def _run_step(step: str, item: Loaded, record_property: Callable[[str, Any], None]) -> None:
    """Runs one step, records its outcome for :func:`totals`, and fails unless it passed or the
    backend legitimately cannot run the case (a typed error that says why)."""
    outcome = CHECKS[step](item)
    record_property("outcome", (step, outcome.label))
    assert outcome.ok, f"{item.case.id} [{step}]: {outcome.label}: {outcome.detail}"


# ---- the tests ------------------------------------------------------------------------------------


def test_open(loaded: Loaded, record_property: Callable[[str, Any], None]) -> None:
    """Step 1 (:func:`check_open`)."""
    _run_step("open", loaded, record_property)


def test_cpu(loaded: Loaded, record_property: Callable[[str, Any], None]) -> None:
    """Step 2 (:func:`check_cpu`)."""
    _run_step("cpu", loaded, record_property)


def test_reference(loaded: Loaded, record_property: Callable[[str, Any], None]) -> None:
    """Step 3 (:func:`check_reference`)."""
    _run_step("reference", loaded, record_property)


def test_every_onnx_element_type_is_named() -> None:
    """The tables name every element type ONNX defines as :data:`DTYPE_NAMES` does, so none shows as
    ``object``, ``float8_e4m3fn`` (ml_dtypes' spelling) or a number."""
    from workbench.model._tensors import tensor_dtype

    for code, name in DTYPE_NAMES.items():
        assert tensor_dtype(code) == name, TensorProto.DataType.Name(code)


def test_difference_sees_every_kind_of_value() -> None:
    """The comparison itself: a NaN matches a NaN, not a number; bits, dtypes, shapes, structure count."""
    nan = np.array([1.0, np.nan], np.float32)
    assert difference(nan, nan.copy()) is None
    assert "differ" in difference(nan, np.array([1.0, 2.0], np.float32))
    assert "differ" in difference(np.array([0.0], np.float32), np.array([-0.0], np.float32))
    assert "dtype" in difference(np.zeros(2, np.uint8), np.zeros(2, ml_dtypes.float8_e4m3fn))
    assert "shape" in difference(np.zeros(2), np.zeros((2, 1)))
    f8 = np.array([1, np.nan], ml_dtypes.float8_e5m2)
    assert difference(f8, f8.copy()) is None and difference(f8, f8[::-1].copy())
    assert difference([nan, None], [nan.copy(), None]) is None
    assert "items" in difference([nan], [nan, nan])
    assert "empty optional" in difference(None, nan)
    assert difference({1: nan}, {1: nan.copy()}) is None and difference({1: nan}, {2: nan})
    assert difference(np.array(["a"], object), np.array(["b"], object))
    assert difference(np.array([1j * np.nan]), np.array([1j * np.nan])) is None
    assert difference(np.ones(2), np.zeros(2), shape_only=True) is None


def test_evaluator_optionals_are_unwrapped() -> None:
    """The reference evaluator's one-item lists around optionals come off; a fed sequence stays."""
    tensor = helper.make_tensor_type_proto(TensorProto.FLOAT, None)
    optional_tensor = helper.make_optional_type_proto(tensor)
    optional_sequence = helper.make_optional_type_proto(helper.make_sequence_type_proto(tensor))
    x = np.ones(2, np.float32)
    assert from_evaluator([x], optional_tensor) is x and from_evaluator([None], optional_tensor) is None
    assert from_evaluator([[x]], optional_sequence) == [x] and from_evaluator([None], optional_sequence) is None
    assert from_evaluator([x], optional_sequence) == [x]  # an optional sequence fed as an input: not wrapped
    assert from_evaluator([x], tensor) is x  # OptionalGetElement passes the wrapper on


# ---- the totals ----------------------------------------------------------------------------------


class _Tally:
    """A pytest plugin counting the outcomes the step tests record."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            for key, value in report.user_properties:
                if key == "outcome":
                    step, label = value
                    self.counts[(step, label)] += 1


def totals(pytest_args: list[str] | None = None) -> str:
    """Runs the suite (``pytest_args`` added, e.g. ``-n 2``) and returns the outcomes per step as
    a markdown table: passes, typed errors by reason, then the failures, always listed."""
    tally = _Tally()
    pytest.main([__file__, "-q", "--tb=no", "-k", "test_open or test_cpu or test_reference", *(pytest_args or [])],
                plugins=[tally])
    return table(tally.counts)


def table(counts: Counter[tuple[str, str]]) -> str:
    """The markdown table of ``{(step, outcome label): cases}``."""
    labels = {label for _, label in counts}
    failures = sorted(label for label in labels if not label.startswith(("pass", "typed error:")))
    rows = [(label, {step: counts[(step, label)] for step in STEPS}) for label in sorted(
        (label for label in labels if label.startswith(("pass", "typed error:"))),
        key=lambda label: (not label.startswith("pass"), label != "pass", label))]
    for title, status in (("untyped error", "untyped error"), ("wrong result", "wrong result")):
        rows.append((f"**{title}**", {step: sum(n for (s, label), n in counts.items()
                                               if s == step and label.split(":")[0] == status) for step in STEPS}))
    others = [label for label in failures if label.split(":")[0] not in ("untyped error", "wrong result")]
    rows.append(("**other failures**", {step: sum(counts[(step, label)] for label in others) for step in STEPS}))
    rows += [(f"… {label}", {step: counts[(step, label)] for step in STEPS}) for label in failures]
    rows.append(("**cases**", {step: sum(n for (s, _), n in counts.items() if s == step) for step in STEPS}))
    lines = ["| outcome | " + " | ".join(STEP_TITLES[step] for step in STEPS) + " |", "|---|" + "---:|" * len(STEPS)]
    lines += [f"| {label} | " + " | ".join(str(by_step[step]) for step in STEPS) + " |" for label, by_step in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(totals(sys.argv[1:]))
