"""workbench.model scopes: hierarchy from metadata, from names, flat; repeats; unscoped nodes."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

import workbench as wb


def test_scopes_from_dynamo_metadata_with_classes_and_repeats() -> None:
    tree = wb.samples.open("tiny_bert").scopes
    assert tree.source == "metadata"
    layer = tree.find("encoder/layer.0")
    assert layer.class_name == "transformers.models.bert.modeling_bert.BertLayer"
    assert set(layer.children) == {"attention", "intermediate", "output"}
    assert layer.repeat == "layer × 2" and tree.find("encoder/layer.1").repeat == "layer × 2"
    assert tree.repeats == [("encoder/layer × 2", 2)]
    assert tree.root.node_count() == 79
    frame = tree.to_frame()
    assert frame.loc["encoder", "total_nodes"] == 68


def test_scopes_from_torchscript_style_names() -> None:
    tree = wb.samples.open("tiny_cnn").scopes
    assert tree.source == "name"
    assert tree.find("layer1/0/out/conv").nodes == ["/layer1/0/out/conv/Conv_7"]
    # layer1's blocks are identical; layer2's first block has a downsample, so no repeat there.
    assert tree.find("layer1/0").repeat == tree.find("layer1/1").repeat == "0…1 × 2"
    assert tree.find("layer2/0").repeat == ""


def test_scopes_from_tensorflow_style_names() -> None:
    """tf2onnx names nodes by TensorFlow's name scopes, with no leading slash."""
    names = ["functional/dense_1/MatMul", "functional/dense_1/Relu", "functional/dense_2/MatMul", "Identity"]
    nodes, previous = [], "x"
    for name in names:
        op = name.rsplit("/", 1)[-1]
        nodes.append(helper.make_node("Relu" if op != "MatMul" else "MatMul",
                                      [previous] + (["w"] if op == "MatMul" else []), [name + ":0"], name=name))
        previous = name + ":0"
    graph = helper.make_graph(nodes, "tf", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info(previous, onnx.TensorProto.FLOAT, [1, 4])],
                              [onnx.numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")])
    tree = wb.open(helper.make_model(graph)).scopes
    assert tree.source == "name"
    assert tree.find("functional/dense_1").nodes == ["functional/dense_1/MatMul", "functional/dense_1/Relu"]
    assert tree.find("functional").node_count() == 3 and tree.root.nodes == ["Identity"]


def test_a_model_without_scope_information_is_flat() -> None:
    tree = wb.samples.open("control_flow").scopes
    assert tree.source == "none" and len(tree) == 1 and tree.root.node_count() == 8


def test_unscoped_constants_join_their_consumers_scope() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [1], [2.0])),
            helper.make_node("Mul", ["x", "c"], ["a"], name="/enc/block/Mul"),
            helper.make_node("Add", ["a", "c"], ["y"], name="/enc/other/Add"),
        ],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    m = wb.open(helper.make_model(graph))
    assert m.nodes.loc["Constant_0", "scope"] == "enc"  # the deepest scope both consumers share
    assert m.scopes.find("enc").nodes == ["Constant_0"]


def test_generated_nodes_join_the_scope_feeding_them() -> None:
    """tf2onnx's own nodes (``Transpose__5``) have no scope: a chain of them read from one scope
    belongs to it, not to the Add that reads its end; one fed from two layers, to the model; one fed
    from no scope, to its readers."""
    def node(op: str, inputs: list[str], name: str) -> onnx.NodeProto:
        return helper.make_node(op, inputs, [name + ":0"], name=name)

    graph = helper.make_graph(
        [
            node("MatMul", ["x", "w"], "tr/mha/query/MatMul"),
            node("MatMul", ["x", "w"], "tr/mha/key/MatMul"),
            node("Transpose", ["tr/mha/key/MatMul:0"], "Transpose__5"),
            node("MatMul", ["tr/mha/query/MatMul:0", "Transpose__5:0"], "MatMul__7"),  # query and key: in mha
            node("Relu", ["MatMul__7:0"], "Relu__8"),
            node("Add", ["x", "Relu__8:0"], "tr/res1/Add"),
            node("Mul", ["tr/res1/Add:0", "MatMul__7:0"], "Mul__9"),  # res1 and mha: the model
            node("Neg", ["x"], "Neg__10"),  # fed by no node: its reader's
            node("Sum", ["Mul__9:0", "Neg__10:0"], "tr/ln1/Sum"),
        ],
        "tf",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("tr/ln1/Sum:0", onnx.TensorProto.FLOAT, [4, 4])],
        [onnx.numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")],
    )
    m = wb.open(helper.make_model(graph))
    assert [m.scope_path(n) for n in ("Transpose__5", "MatMul__7", "Relu__8")] == ["tr/mha/key", "tr/mha", "tr/mha"]
    assert m.node_scopes["MatMul__7"].source == "producers"
    assert m.scope_path("Mul__9") == "tr"
    assert m.scope_path("Neg__10") == "tr/ln1" and m.node_scopes["Neg__10"].source == "consumers"


def test_find_names_near_misses() -> None:
    tree = wb.samples.open("tiny_bert").scopes
    try:
        tree.find("encoder/layer.9")
    except KeyError as exc:
        assert "encoder/layer.0" in str(exc)
    else:
        raise AssertionError("find() of a missing scope must raise")


def test_scope_tree_displays_repeats_once() -> None:
    text = repr(wb.samples.open("tiny_bert").scopes)
    assert "layer × 2  [34 nodes each]" in text
    assert "layer.1" not in text
    assert "layer × 2" in wb.samples.open("tiny_bert").scopes._repr_html_()
