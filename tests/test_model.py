"""workbench.model: opening models and the tables built from them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from helpers import LIGHT_MODELS
from onnx import helper

import workbench as wb


@pytest.mark.parametrize("path", LIGHT_MODELS, ids=lambda p: p.stem)
def test_light_models_open_with_every_node(path: Path) -> None:
    expected = onnx.load(path)
    m = wb.open(path)
    nodes = m.nodes
    assert len(nodes) == len(expected.graph.node)
    assert list(nodes.op_type) == [n.op_type for n in expected.graph.node]
    assert nodes.index.is_unique
    assert m.problems == []
    # Every Conv / Gemm of these static-shape CNNs gets a FLOPs estimate.
    heavy = nodes[nodes.op_type.isin(["Conv", "Gemm", "MatMul"])]
    assert len(heavy) and heavy.flops.notna().all() and (heavy.flops > 0).all()


def test_resnet50_flops_match_the_published_figure() -> None:
    m = wb.open(next(p for p in LIGHT_MODELS if p.stem == "light_resnet50"))
    gmacs = m.nodes.macs.sum() / 1e9
    assert 4.0 < gmacs < 4.2  # ResNet-50 at 224x224: 4.1 GMACs (He et al.; torchvision)


def test_every_source_kind_opens_the_same_model(sample_path) -> None:
    path = sample_path("tiny_cnn")
    proto = onnx.load(path)
    opened = [wb.open(path), wb.open(str(path)), wb.open(path.read_bytes()), wb.open(proto)]
    assert {len(m.nodes) for m in opened} == {len(proto.graph.node)}
    assert opened[0].path == path.resolve()
    assert opened[3].proto is proto  # not copied


def test_nodes_table_columns_and_values() -> None:
    m = wb.open(wb.samples.proto("tiny_cnn"))
    nodes = m.nodes
    for column in ["name", "op_type", "domain", "inputs", "outputs", "scope", "output_dtypes",
                   "output_shapes", "attributes", "params", "flops", "macs", "parent"]:
        assert column in nodes.columns
    first = nodes.iloc[0]
    assert first.op_type == "Conv" and first.scope == "stem/conv"
    assert first.output_shapes == [("batch", 16, 32, 32)]
    assert first.output_dtypes == ["float32"]
    assert "kernel_shape=[3, 3]" in first.attributes
    assert first.params == 16 * 3 * 3 * 3
    # Conv flops per output element: 2 * C_in * kH * kW; unknown batch -> NaN, never a guess.
    assert math.isnan(first.flops)
    sized = wb.open(wb.samples.proto("tiny_cnn"), dims={"batch": 2}).nodes.iloc[0]
    assert sized.macs == 2 * 16 * 32 * 32 * 3 * 3 * 3
    assert sized.flops == 2 * sized.macs


def test_attribute_text_shows_string_lists_and_cuts_long_lists() -> None:
    from onnx import helper

    from workbench.model._cost import attribute_values
    from workbench.model._model import format_attribute

    node = helper.make_node("LabelEncoder", ["x"], ["y"], domain="ai.onnx.ml", keys_strings=["cat", "dog"],
                            values_int64s=list(range(40)))
    values = attribute_values(node)
    texts = {attr.name: format_attribute(attr, values) for attr in node.attribute}
    assert texts["keys_strings"] == "['cat', 'dog']"
    assert texts["values_int64s"] == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, … (40 in all)]"


def test_matmul_flops_cover_batched_attention() -> None:
    m = wb.open(wb.samples.proto("tiny_bert"), dims={"batch": 2, "sequence": 8})
    scores = m.nodes[(m.nodes.op_type == "MatMul") & (m.nodes.scope == "encoder/layer.0/attention")]
    qk = scores.iloc[0]  # [2, 4, 8, 16] x [2, 4, 16, 8]
    assert qk.output_shapes == [(2, 4, 8, 8)]
    assert qk.macs == 2 * 4 * 8 * 8 * 16


def test_tables_ops_and_parameters() -> None:
    m = wb.open(wb.samples.proto("tiny_bert"))
    ops = m.ops
    assert ops.iloc[0].op_type == "Add"
    assert ops["count"].sum() == len(m.nodes)
    weights = sum(math.prod(t.dims) for t in m.proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    assert m.parameter_count == weights


def test_tensors_have_statistics() -> None:
    m = wb.open(wb.samples.proto("tiny_cnn"))
    tensors = m.tensors
    assert len(tensors) == len(m.proto.graph.initializer)
    weight = m.weight("layer1.0.conv.weight")
    row = tensors.loc["layer1.0.conv.weight"]
    assert row["shape"] == weight.shape and row.storage == "inline"
    assert row["min"] == pytest.approx(float(weight.min()))
    assert row["std"] == pytest.approx(float(weight.std()), rel=1e-5)
    assert row.consumers == [m.nodes.index[m.nodes.inputs.apply(lambda i: "layer1.0.conv.weight" in i)][0]]


def test_tensor_statistics_count_nonfinite_values() -> None:
    data = np.array([1.0, np.nan, np.inf, -2.0, 0.0], np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [5])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [5])],
        [onnx.numpy_helper.from_array(data, "w")],
    )
    row = wb.open(helper.make_model(graph)).tensors.loc["w"]
    assert row.nonfinite == 2 and row["min"] == -2.0 and row["max"] == 1.0 and row.zeros == pytest.approx(0.2)


def test_boolean_values_have_statistics() -> None:
    """Masks and conditions count as 0/1: the debugger's inspector shows how much of a mask is set."""
    from workbench.model._tensors import tensor_stats

    stats = tensor_stats(np.array([True, False, True, True]))
    assert stats["min"] == 0 and stats["max"] == 1 and stats["mean"] == 0.75 and stats["zeros"] == 0.25


def test_unnamed_and_duplicate_node_names_get_stable_unique_ids() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["a"]),
            helper.make_node("Relu", ["a"], ["b"], name="dup"),
            helper.make_node("Relu", ["b"], ["c"], name="dup"),
            helper.make_node("Relu", ["c"], ["y"], name="unique"),
        ],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    ids = list(wb.open(helper.make_model(graph)).nodes.index)
    assert ids == ["Relu_0", "Relu_1", "Relu_2", "unique"]
    assert ids == list(wb.open(helper.make_model(graph)).nodes.index)  # stable across opens


def test_subgraph_nodes_appear_with_their_parent() -> None:
    m = wb.samples.open("control_flow")
    nodes = m.nodes
    assert set(nodes.index) >= {"branch", "then_relu", "else_neg", "repeat", "body_add"}
    assert nodes.loc["then_relu", "parent"] == "branch"
    assert nodes.loc["then_relu", "graph"] == "branch/then_branch"
    assert nodes.loc["body_add", "parent"] == "repeat"
    assert pd.isna(nodes.loc["branch", "parent"])
    data = m._repr_mimebundle_()[wb.graph.VIEW_MIME_TYPE]["summary"]
    assert any(s.startswith("repeat/body (Loop, 2 nodes)") for s in data["subgraphs"])


def test_local_functions_are_listed_on_the_card() -> None:
    fn = helper.make_function("custom", "Twice", ["x"], ["y"], [helper.make_node("Add", ["x", "x"], ["y"])],
                              [helper.make_opsetid("", 18)])
    graph = helper.make_graph(
        [helper.make_node("Twice", ["x"], ["y"], domain="custom")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, functions=[fn],
                              opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("custom", 1)])
    m = wb.open(model)
    assert "custom.Twice (1 nodes)" in m._repr_mimebundle_()[wb.graph.VIEW_MIME_TYPE]["summary"]["functions"]
    assert m.nodes.loc["Twice_0", "domain"] == "custom"


def test_summary_card_contents() -> None:
    m = wb.samples.open("tiny_bert")
    bundle = m._repr_mimebundle_()
    data = bundle["application/vnd.onnx-workbench.graph+json"]["summary"]
    assert data["node_count"] == len(m.nodes)
    assert data["opsets"] == {"ai.onnx": 18}
    assert data["inputs"] == [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}]
    assert data["top_ops"][0] == ["Add", 20]
    assert data["producer"] == "onnx-workbench samples 1"
    for text in (bundle["text/html"], bundle["text/plain"], repr(m)):
        assert "input_ids" in text and "143,428" in text


def test_summary_card_shows_description_and_metadata_cut_short() -> None:
    proto = wb.samples.proto("tiny_cnn")
    proto.doc_string = "exported for the demo " * 40
    onnx.helper.set_model_props(proto, {"license": "MIT", "config": "{" + "x" * 1000 + "}"})
    data = wb.open(proto)._repr_mimebundle_()[wb.graph.VIEW_MIME_TYPE]["summary"]
    assert len(data["description"]) == 500 and data["description"].endswith("…")
    assert data["metadata"][0] == ["license", "MIT"]
    assert data["metadata"][1][0] == "config" and len(data["metadata"][1][1]) == 200
    text = wb.open(proto)._repr_html_()
    assert "metadata (2)" in text and "exported for the demo" in text
    assert "metadata: license = MIT" in repr(wb.open(proto))


def test_summary_card_escapes_html_from_the_model() -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    graph = helper.make_graph(
        [helper.make_node("Relu", [payload], ["y"], name=payload, doc_string=payload)], payload,
        [helper.make_tensor_value_info(payload, onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, producer_name=payload)
    page = wb.open(model)._repr_html_()
    card = page.split(f'<script type="{wb.graph.STANDALONE_MIME_TYPE}">')[0]  # the part shown without scripts
    assert "<script" not in card and "<img src=x" not in card
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in card
