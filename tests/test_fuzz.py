"""Property-based fuzzing of loading and of building the graph view: whatever the bytes or the
graph, the answer is a model (and a view) or a typed ``WorkbenchError`` — never another
exception, never a hang. Bounded: a fixed number of examples each, derandomized, so the suite
stays reproducible; a failure hypothesis finds is shrunk, and kept below as an ``@example``.

A longer exploration, outside the suite: ``WORKBENCH_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import warnings

import onnx
import pytest
from onnx import TensorProto, helper

import workbench as wb
from workbench.errors import ModelCheckWarning, NotOnnxError, WorkbenchError
from workbench.runtime._session import check_runnable

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "0")) or None  # None: each test's own number


def fuzz(max_examples: int) -> settings:
    """Bounded, reproducible settings: ``max_examples`` each (or ``WORKBENCH_FUZZ_EXAMPLES``), derandomized."""
    return settings(max_examples=EXAMPLES or max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


FUZZ = fuzz(150)
SEED_MODEL = wb.samples.proto("tiny_cnn").SerializeToString()


def _open_and_view(source: bytes | onnx.ModelProto) -> None:
    """Opens ``source``, builds everything the front ends get and checks it is runnable (what the
    entry points that run a model check before any runtime sees it); typed errors are fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelCheckWarning)
        try:
            m = wb.open(source)
            json.dumps(m.view_index.payload())
            json.dumps(m.view_index.payload(budget=20_000))
            m.nodes, m.ops, m.scopes  # noqa: B018 - the tables, built
            m.to_graphviz().source  # noqa: B018 - the static drawing's source (no dot run)
            check_runnable(m.proto.graph)
        except WorkbenchError:
            pass


@FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, len(SEED_MODEL) - 1), st.integers(0, 255)), max_size=8),
       keep=st.integers(1, len(SEED_MODEL)))
@example(cuts=[], keep=len(SEED_MODEL) // 2)  # truncated
@example(cuts=[(4, 128)], keep=len(SEED_MODEL))  # text that is not UTF-8, in the producer's name,
@example(cuts=[(37, 128)], keep=len(SEED_MODEL))  # a node input's name,
@example(cuts=[(70, 128)], keep=len(SEED_MODEL))  # a node's name,
@example(cuts=[(239, 128)], keep=len(SEED_MODEL))  # a node output's name
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
#: Model-local functions (domain "local") nodes may call, defined or not; their bodies may call them too.
_FUNCTIONS = ["f0", "f1"]
#: How deep generated If/Loop bodies nest (deeper nesting: test_deeply_nested_graphs).
_BODY_DEPTH = 3


def _info(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


@st.composite
def _nodes(draw: st.DrawFn, values: list[str], prefix: str = "", depth: int = 0) -> list[onnx.NodeProto]:
    """Nodes over ``values``: ops (one unknown), calls of local functions, and If and Loop nodes whose
    bodies are drawn alike one level down; wiring that may dangle or loop, a value now and then
    written twice, hostile names, attributes of random types, scope-like names with slashes."""
    values = list(values)
    nodes = []
    for index in range(draw(st.integers(0, 12 if depth == 0 else 4))):
        op = draw(st.sampled_from(_OPS + _FUNCTIONS + (["If", "Loop"] if depth < _BODY_DEPTH else [])))
        inputs = draw(st.lists(st.sampled_from(values + ["missing", f"{prefix}v{index + 1}"]), min_size=1,
                               max_size=3))
        name = draw(st.one_of(_TEXT, st.just(f"/block.{index % 3}/{op}_{index}"), st.just("")))
        output = f"{prefix}v{index}" if draw(st.integers(0, 31)) else draw(st.sampled_from(values))
        if op in ("If", "Loop"):
            attributes = {label: draw(_bodies(values, f"{prefix}{index}{label[0]}_", depth + 1, op == "Loop"))
                          for label in (("body",) if op == "Loop" else ("then_branch", "else_branch"))
                          if draw(st.integers(0, 7))}  # now and then a body goes missing
        else:
            attributes = draw(st.dictionaries(
                st.sampled_from(["axis", "perm", "alpha", "mode", "to"]),
                st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.lists(st.integers(-3, 3), min_size=1,
                                                                                  max_size=4), _TEXT),
                max_size=2))
        outputs = [output] + [f"{prefix}v{index}_{k}" for k in range(draw(st.integers(0, 1)))]
        node = helper.make_node(op, inputs, outputs, name=name, domain="local" if op in _FUNCTIONS else "",
                                **attributes)
        if draw(st.booleans()):
            node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=draw(_TEXT))
        nodes.append(node)
        values.extend(outputs)
    return nodes


@st.composite
def _bodies(draw: st.DrawFn, outer: list[str], prefix: str, depth: int, loop: bool) -> onnx.GraphProto:
    """An If branch or a Loop body: it may read ``outer`` values, take (a Loop body) and return any
    number of values, fitting its node or not."""
    inputs = [f"{prefix}in{k}" for k in range(draw(st.integers(0, 4)) if loop else 0)]
    nodes = draw(_nodes(outer + inputs, prefix, depth))
    made = inputs + [name for node in nodes for name in node.output]
    outputs = draw(st.lists(st.sampled_from(made + ["missing"]), min_size=1, max_size=3))
    return helper.make_graph(nodes, f"{prefix}body", [_info(n) for n in inputs], [_info(n) for n in outputs])


@st.composite
def graphs(draw: st.DrawFn) -> onnx.ModelProto:
    """Small random models: a main graph of :func:`_nodes`, some of the local functions (each may
    call itself or the other), optional metadata, a random opset and input shape."""
    nodes = draw(_nodes(["x"]))
    values = ["x"] + [name for node in nodes for name in node.output]
    outputs = [helper.make_tensor_value_info(draw(st.sampled_from(values)), TensorProto.FLOAT, None)]
    dims = draw(st.lists(st.one_of(st.integers(0, 10**6), _TEXT), max_size=4))
    graph = helper.make_graph(nodes, draw(_TEXT), [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              outputs)
    opsets = [helper.make_opsetid("", draw(st.integers(1, 30))), helper.make_opsetid("local", 1)]
    functions = []
    for name in draw(st.lists(st.sampled_from(_FUNCTIONS), unique=True, max_size=2)):
        body = draw(_nodes(["a"], f"{name}_", 1))
        made = ["a"] + [value for node in body for value in node.output]
        functions.append(helper.make_function("local", name, ["a"], [draw(st.sampled_from(made))], body, opsets))
    return helper.make_model(graph, opset_imports=opsets, functions=functions)


def _nest(model: onnx.ModelProto, depth: int) -> onnx.ModelProto:
    """``model`` with its main graph's nodes moved ``depth`` Ifs down (each If's then_branch holds
    the next one). Built in place: protobuf would refuse to copy a message nested that deep."""
    nested = onnx.ModelProto()
    nested.CopyFrom(model)
    graph = nested.graph
    nodes = list(graph.node)
    del graph.node[:]
    for level in range(depth):
        node = graph.node.add(op_type="If", name=f"if{level}", input=["x"], output=[f"nest{level}"])
        graph = node.attribute.add(name="then_branch", type=onnx.AttributeProto.GRAPH).g
        graph.output.add(name=f"nest{level + 1}")
    graph.node.extend(nodes)
    return nested


@pytest.mark.slow  # about 7 s
@fuzz(100)  # each example opens and views a model with bodies and functions: slower than bytes
@given(graphs())
def test_random_graphs(model: onnx.ModelProto) -> None:
    _open_and_view(model)


@fuzz(25)
@given(graphs(), st.integers(25, 45))
def test_deeply_nested_graphs(model: onnx.ModelProto, depth: int) -> None:
    """Around the deepest nesting protobuf parses: the model opens, or is refused typed, in memory and as bytes."""
    nested = _nest(model, depth)
    _open_and_view(nested)
    _open_and_view(nested.SerializeToString())  # protobuf writes what it will not read back


def test_nesting_deeper_than_protobuf_parses_is_refused() -> None:
    """In memory too: such a model was walked into a RecursionError (2000 levels), or copied into
    protobuf's DecodeError (from 33 levels); the deepest nesting that parses still opens."""
    seed = wb.samples.proto("tiny_cnn")
    for depth in (32, 2000):
        with pytest.raises(NotOnnxError, match="deeper than protobuf parses"):
            wb.open(_nest(seed, depth))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelCheckWarning)
        assert len(wb.open(_nest(seed, 31)).nodes) > 31
