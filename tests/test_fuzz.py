"""Property-based fuzzing of loading and of building the graph view: whatever the bytes or the
graph, the answer is a model (and a view) or a typed ``WorkbenchError`` — never another
exception, never a hang. Bounded: a fixed number of examples each, derandomized, so the suite
stays reproducible; a failure hypothesis finds is shrunk, and kept below as an ``@example``."""

from __future__ import annotations

import json
import warnings

import onnx
import pytest
from onnx import TensorProto, helper

import workbench as wb
from workbench.errors import ModelCheckWarning, WorkbenchError

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEED_MODEL = wb.samples.proto("tiny_cnn").SerializeToString()


def _open_and_view(source: bytes | onnx.ModelProto) -> None:
    """Opens ``source`` and builds everything the front ends get; typed errors are fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelCheckWarning)
        try:
            m = wb.open(source)
            json.dumps(m.view_index.payload())
            json.dumps(m.view_index.payload(budget=20_000))
            m.nodes, m.ops, m.scopes  # noqa: B018 - the tables, built
            m.to_graphviz().source  # noqa: B018 - the static drawing's source (no dot run)
        except WorkbenchError:
            pass


@FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, len(SEED_MODEL) - 1), st.integers(0, 255)), max_size=8),
       keep=st.integers(1, len(SEED_MODEL)))
@example(cuts=[], keep=len(SEED_MODEL) // 2)  # truncated
def test_mutated_model_bytes(cuts: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(SEED_MODEL[:keep])
    for position, value in cuts:
        if position < len(data):
            data[position] = value
    _open_and_view(bytes(data))


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes(data: bytes) -> None:
    _open_and_view(data)


_OPS = ["Relu", "Add", "Mul", "MatMul", "Concat", "Identity", "Sigmoid", "Transpose", "Reshape", "Softmax", "Bogus"]
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)


@st.composite
def graphs(draw: st.DrawFn) -> onnx.ModelProto:
    """Small random graphs: ops (one unknown), wiring that may dangle or loop, hostile names,
    attributes of random types, scope-like names with slashes, optional metadata."""
    values = ["x"]
    nodes = []
    for index in range(draw(st.integers(0, 12))):
        op = draw(st.sampled_from(_OPS))
        inputs = draw(st.lists(st.sampled_from(values + ["missing", f"v{index + 1}"]), min_size=1, max_size=3))
        name = draw(st.one_of(_TEXT, st.just(f"/block.{index % 3}/{op}_{index}"), st.just("")))
        attributes = draw(st.dictionaries(st.sampled_from(["axis", "perm", "alpha", "mode", "to"]),
                                          st.one_of(st.integers(-5, 5), st.floats(allow_nan=True),
                                                    st.lists(st.integers(-3, 3), min_size=1, max_size=4), _TEXT),
                                          max_size=2))
        node = helper.make_node(op, inputs, [f"v{index}"], name=name, **attributes)
        if draw(st.booleans()):
            node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=draw(_TEXT))
        nodes.append(node)
        values.append(f"v{index}")
    outputs = [helper.make_tensor_value_info(draw(st.sampled_from(values)), TensorProto.FLOAT, None)]
    dims = draw(st.lists(st.one_of(st.integers(0, 10**6), _TEXT), max_size=4))
    graph = helper.make_graph(nodes, draw(_TEXT), [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", draw(st.integers(1, 30)))])


@FUZZ
@given(graphs())
def test_random_graphs(model: onnx.ModelProto) -> None:
    _open_and_view(model)
