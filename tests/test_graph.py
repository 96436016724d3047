"""The graph view's data: groups, edges, folding, payloads, details, overlays, static SVG."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import onnx
import pandas as pd
import pytest
from helpers import LIGHT_MODELS
from onnx import helper

import workbench as wb
from workbench.graph import FAN_OUT, MAX_ITEMS, VIEW_MIME_TYPE
from workbench.graph._details import tensor_view


def _all_groups(index: wb.graph.ViewIndex) -> list[dict]:
    return [index.group(g) for g in index.group_ids]


def _node_items(index: wb.graph.ViewIndex) -> list[dict]:
    return [i for g in _all_groups(index) for i in g["items"] if i["kind"] == "node"]


def test_every_node_but_constants_is_drawn_exactly_once() -> None:
    m = wb.samples.open("tiny_bert")
    index = m.view_index
    drawn = [i["node"] for i in _node_items(index)]
    expected = [n for n, op in m.nodes.op_type.items() if op != "Constant"]
    assert sorted(drawn) == sorted(expected)
    assert len(drawn) == len(set(drawn))


def test_groups_follow_scopes_and_repeats_fold() -> None:
    index = wb.samples.open("tiny_bert").view_index
    root = index.group(index.root)
    kinds = [(i["kind"], i["label"]) for i in root["items"]]
    assert kinds[0] == ("input", "input_ids")
    assert ("group", "encoder") in kinds and ("output", "pooler_output") in kinds
    encoder = index.group("g:encoder")
    (repeat,) = encoder["items"]
    assert repeat["label"] == "layer × 2" and repeat["repeat"] == 2
    folded = index.group(repeat["group"])
    assert folded["kind"] == "repeat"
    assert [i["label"] for i in folded["items"]] == ["layer.0", "layer.1"]
    assert folded["nodes"] == sum(index.group(i["group"])["nodes"] for i in folded["items"])
    assert root["nodes"] == len(wb.samples.open("tiny_bert").nodes)


def test_edges_are_valid_and_follow_the_data() -> None:
    index = wb.samples.open("tiny_cnn").view_index
    for group in _all_groups(index):
        for a, b, label in group["edges"]:
            assert 0 <= a < len(group["items"]) and 0 <= b < len(group["items"]) and a != b
            assert isinstance(label, str)
    root = index.group(index.root)
    labels = [i["label"] for i in root["items"]]
    edges = {(labels[a], labels[b]): label for a, b, label in root["edges"]}
    # image → stem → layer1 → layer2 → fc → logits, with shapes on the edges
    assert edges[("image", "stem")] == "batch×3×32×32"
    assert ("layer2", "fc") in edges and ("fc", "logits") in edges


def test_constants_and_initializers_are_weights_of_their_consumer() -> None:
    m = wb.samples.open("tiny_cnn")
    conv = next(i for i in _node_items(m.view_index) if i["op"] == "Conv")
    weight_names = [w[0] for w in conv["weights"]]
    initializers = set(m.tensors.index)
    assert weight_names and set(weight_names) <= initializers
    assert all("×" in shape for _, shape, *_ in conv["weights"])


def test_weights_and_details_name_each_input_by_its_role_in_the_op_schema() -> None:
    m = wb.samples.open("tiny_cnn")
    index = m.view_index
    bn = next(i for i in _node_items(index) if i["op"] == "BatchNormalization")
    assert [w[2] for w in bn["weights"]] == ["scale", "B", "input_mean", "input_var"]
    details = index.details(bn["node"])
    assert [e["role"] for e in details["inputs"]] == ["X", "scale", "B", "input_mean", "input_var"]
    assert [e["role"] for e in details["outputs"]] == ["Y"]
    # the operator's documentation, from onnx's schemas (offline)
    operator = details["operator"]
    assert (operator["op"], operator["domain"]) == ("BatchNormalization", "ai.onnx")
    assert operator["since"] <= m.proto.opset_import[0].version and operator["summary"]
    assert "epsilon" in [name for name, _ in operator["attributes"]]
    assert [name for name, *_ in operator["inputs"]] == ["X", "scale", "B", "input_mean", "input_var"]


def _constants_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Constant", [], ["two"], value=helper.make_tensor("t", onnx.TensorProto.FLOAT, [], [2.0])),
        helper.make_node("Pow", ["x", "two"], ["squared"], name="pow"),
        helper.make_node("Add", ["squared", "eps"], ["shifted"], name="add"),
        helper.make_node("Transpose", ["shifted"], ["y"], name="transpose", perm=[1, 0]),
        helper.make_node("MatMul", ["y", "big"], ["z"], name="matmul"),
        helper.make_node("CustomOp", ["z", "eps"], ["out"], name="custom", domain="my.domain"),
    ]
    initializers = [helper.make_tensor("eps", onnx.TensorProto.FLOAT, [], [9.99e-06]),
                    helper.make_tensor("big", onnx.TensorProto.FLOAT, [2, 3], [1.0] * 6)]
    graph = helper.make_graph(nodes, "consts", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 2])],
                              [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [3, 3])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("my.domain", 1)])


def test_small_constants_are_written_by_value() -> None:
    index = wb.open(_constants_model()).view_index
    items = {i["node"]: i for i in _node_items(index)}
    assert items["pow"]["weights"] == [["two", "scalar", "Y", "2"]]
    assert items["add"]["weights"] == [["eps", "scalar", "B", "9.99e-06"]]
    assert items["matmul"]["weights"] == [["big", "2×3", "B"]]  # six values: shown by shape
    assert items["custom"]["weights"] == [["eps", "scalar", "", "9.99e-06"]]  # no schema: no role
    assert index.details("custom")["operator"] is None


def _flat_chain(n: int) -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", [f"v{i}"], [f"v{i + 1}"], name=f"relu{i}") for i in range(n)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("v0", onnx.TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info(f"v{n}", onnx.TensorProto.FLOAT, [4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_a_level_with_too_many_boxes_is_split() -> None:
    index = wb.open(_flat_chain(2 * MAX_ITEMS + 50)).view_index
    root = index.group(index.root)
    splits = [i for i in root["items"] if i["kind"] == "group"]
    assert len(splits) == 3 and all(index.group(s["group"])["kind"] == "split" for s in splits)
    assert max(len(g["items"]) for g in _all_groups(index)) <= MAX_ITEMS + 2  # + graph input and output
    # named by what they hold, told apart by their place: never by index range
    assert [s["label"] for s in splits] == ["Relu, part 1 of 3", "Relu, part 2 of 3", "Relu, part 3 of 3"]
    # the chain runs through the splits: split k feeds split k+1
    labels = [i["label"] for i in root["items"]]
    edges = {(labels[a], labels[b]) for a, b, _ in root["edges"]}
    assert (splits[0]["label"], splits[1]["label"]) in edges


def test_a_high_fan_out_producer_gets_a_ref_per_consumer_group() -> None:
    n = FAN_OUT + 4
    nodes = [helper.make_node("Neg", ["x"], ["mask"], name="/mask/Neg")]
    for k in range(n):
        nodes.append(helper.make_node("Add", ["x", "mask"], [f"y{k}"], name=f"/layer.{k}/Add"))
        nodes.append(helper.make_node("Relu", [f"y{k}"], [f"z{k}"], name=f"/layer.{k}/Relu"))
    graph = helper.make_graph(nodes, "fan", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3])],
                              [helper.make_tensor_value_info(f"z{k}", onnx.TensorProto.FLOAT, [3]) for k in range(n)])
    index = wb.open(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])).view_index
    layer = index.group("g:layer.3")
    refs = [i for i in layer["items"] if i["kind"] == "ref"]
    assert {r["node"] for r in refs} == {"/mask/Neg", "x"}  # the graph input x feeds every layer too
    labels = [i["id"] for i in layer["items"]]
    assert (labels.index(refs[0]["id"]), labels.index("/layer.3/Add")) in {(a, b) for a, b, _ in layer["edges"]}
    # the producer itself no longer has an edge to every layer at the top
    root = index.group(index.root)
    mask_group = next(i["id"] for i in root["items"] if i["label"] in ("mask", "Neg"))
    source = [i["id"] for i in root["items"]].index(mask_group)
    assert not [e for e in root["edges"] if e[0] == source]


def test_subgraph_bodies_and_functions_are_their_own_roots() -> None:
    index = wb.samples.open("control_flow").view_index
    branch = next(i for i in _node_items(index) if i["node"] == "branch")
    attrs = dict(branch["graphs"])
    then = index.group(attrs["then_branch"])
    assert then["kind"] == "subgraph" and then["parent"] is None
    assert "then_relu" in {i.get("node") for i in then["items"]}

    fn = helper.make_function("custom", "Twice", ["x"], ["y"], [helper.make_node("Add", ["x", "x"], ["y"])],
                              [helper.make_opsetid("", 18)])
    graph = helper.make_graph([helper.make_node("Twice", ["x"], ["y"], domain="custom")], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, functions=[fn],
                              opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("custom", 1)])
    index = wb.open(model).view_index
    call = next(i for i in _node_items(index) if i["op"] == "Twice")
    body = index.group(dict(call["graphs"])["function"])
    assert body["kind"] == "function" and [i["op"] for i in body["items"] if i["kind"] == "node"] == ["Add"]
    assert index.details(next(i["node"] for i in body["items"] if i["kind"] == "node"))["op"] == "Add"


def test_payload_respects_its_budget_and_the_rest_is_fetched() -> None:
    index = wb.open(wb.samples.proto("tiny_bert", layers=12)).view_index
    small = index.payload(budget=20_000)
    assert not small["complete"] and "details" not in small
    assert index.root in small["groups"] and len(small["groups"]) < len(index.group_ids)
    missing = next(g for g in index.group_ids if g not in small["groups"])
    assert index.group(missing)["id"] == missing
    whole = index.payload(budget=10_000_000)
    assert whole["complete"] and set(whole["groups"]) == set(index.group_ids)
    assert set(whole["details"]) >= set(index.model.nodes.index)
    json.dumps(whole)  # JSON-ready
    assert set(small["expanded"]) <= set(small["groups"])
    with pytest.raises(KeyError, match="No group"):
        index.group("g:nope")


def test_details_of_a_conv() -> None:
    m = wb.open(wb.samples.proto("tiny_cnn"), dims={"batch": 1})
    conv_id = m.nodes.index[m.nodes.op_type == "Conv"][0]
    details = m.view_index.details(conv_id)
    assert details["op"] == "Conv" and details["scope"] == m.nodes.loc[conv_id, "scope"]
    assert "kernel_shape" in dict(details["attributes"])
    weight = next(i for i in details["inputs"] if i["kind"] == "initializer")
    array = m.weight(weight["name"])
    assert weight["stats"]["max"] == pytest.approx(float(array.max()))
    assert details["flops"] == pytest.approx(m.nodes.loc[conv_id, "flops"])
    assert details["outputs"][0]["shape"] == "1×16×32×32"
    with pytest.raises(KeyError, match="No node"):
        m.view_index.details("nope")


def test_overlay_aggregates_nodes_into_groups() -> None:
    m = wb.samples.open("tiny_bert")
    index = m.view_index
    values = pd.Series(1.0, index=m.nodes.index)
    overlay = index.overlay(values, "count", aggregate="sum")
    assert overlay["values"]["g:encoder"] == len(m.nodes[m.nodes.scope.str.startswith("encoder")])
    assert index.root not in overlay["values"]  # never drawn as a box: it must not stretch the scale
    assert overlay["max"] == overlay["values"]["g:encoder"]
    worst = index.overlay(dict(zip(m.nodes.index, range(len(m.nodes)))), "rank", aggregate="max")
    assert worst["max"] == len(m.nodes) - 1
    with pytest.raises(KeyError, match="unknown node ids"):
        index.overlay({"nope": 1.0}, "x")


def test_static_svg_follows_the_expanded_groups() -> None:
    m = wb.samples.open("tiny_bert")
    collapsed = m.to_graphviz(expanded=[]).source
    assert "subgraph cluster" not in collapsed and "encoder\n68 nodes" in collapsed
    opened = m.to_graphviz(expanded=["g:encoder"]).source
    assert "subgraph cluster" in opened and "layer × 2\n68 nodes" in opened
    bundle = m._repr_mimebundle_()
    assert bundle[VIEW_MIME_TYPE]["schema"] == 1
    assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))


def test_hostile_names_cannot_inject_into_dot_or_svg() -> None:
    evil = '"];<script>alert(1)</script>\\l'
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name=evil)], "<script>alert(1)</script>",
                              [helper.make_tensor_value_info(evil, onnx.TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    graph.node[0].input[0] = evil
    m = wb.open(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))
    svg = m.to_graphviz().pipe(format="svg", encoding="utf-8")
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_a_40_layer_model_keeps_every_level_small() -> None:
    index = wb.open(wb.samples.proto("tiny_bert", layers=40)).view_index
    assert max(len(g["items"]) for g in _all_groups(index)) <= MAX_ITEMS
    assert len(index.payload(budget=2_000_000)["groups"][index.root]["items"]) < 10


def test_details_are_computed_once_and_weights_read_only_when_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.graph._index as index_module

    reads: list[str] = []
    real = index_module.weight_stats
    monkeypatch.setattr(index_module, "weight_stats",
                        lambda model, tensor: reads.append(tensor.name) or real(model, tensor))
    m = wb.open(wb.samples.proto("tiny_bert"))
    weights = {t.name for t in m.proto.graph.initializer if any(t.name in n.input for n in m.proto.graph.node)}
    index = wb.graph.build_view(m)
    # Groups fit, details do not: no weight is read for details that are then dropped.
    groups = sum(len(json.dumps(index.group(g))) + len(g) + 4 for g in index.group_ids)
    small = index.payload(budget=groups + len(json.dumps(m.card_data())) + 3000)
    assert len(small["groups"]) == len(index.group_ids) and not small["complete"] and "details" not in small
    assert reads == []
    node = m.nodes.index[m.nodes.op_type == "MatMul"][0]
    first = index.details(node)
    assert index.details(node) is first and reads and len(reads) == len(set(reads))
    full = index.payload(budget=10**9)  # every detail sent: each weight read once, whichever nodes show it
    assert full["complete"] and sorted(reads) == sorted(set(reads)) and set(reads) <= weights
    stats = [e for d in full["details"].values() for e in d["inputs"] if e["kind"] == "initializer" and "stats" in e]
    assert stats and all(set(e["stats"]) == {"min", "max", "mean", "std"} for e in stats)


def test_search_finds_nodes_values_and_scopes_in_groups_not_sent() -> None:
    m = wb.samples.open("tiny_bert")
    index = m.view_index
    payload = index.payload(budget=1)  # the root group only: everything else is fetched on demand
    assert list(payload["groups"]) == [index.root]
    softmax = [n for n, op in m.nodes.op_type.items() if op == "Softmax"]
    result = index.search("/^Softmax$/u")  # the op type, case-sensitive: not the values named softmax
    assert result["error"] is None and result["total"] == len(softmax) == 2
    for hit in result["hits"]:
        chain = hit["chain"]
        assert chain[0] == index.root and chain[-1] == hit["group"]
        # each group of the chain holds the next one, and the last holds the hit
        for outer, inner in zip(chain, chain[1:]):
            assert inner in {i["id"] for i in index.group(outer)["items"]}
        assert hit["item"] in {i["id"] for i in index.group(hit["group"])["items"]}
    assert sorted(h["item"] for h in result["hits"]) == sorted(softmax)
    # a value by name finds its producer; a scope path finds its group
    value = m.node(softmax[0]).output[0]
    assert [h["item"] for h in index.search(value)["hits"]][:1] == [softmax[0]]
    assert "g:encoder/layer.1" in {h["item"] for h in index.search("/^encoder/layer\\.1$/m")["hits"]}


def test_search_finds_a_constant_through_the_node_that_reads_it() -> None:
    # onnx's light models make their weights with ConstantOfShape: drawn as weights, not boxes
    m = wb.open(next(p for p in LIGHT_MODELS if p.stem == "light_squeezenet"))
    constant = next(n for n, op in m.nodes.op_type.items() if op == "ConstantOfShape")
    (hit,) = m.view_index.search(constant)["hits"]
    reader = m.records_by_id[hit["item"]].node
    assert reader.op_type == "Conv" and set(m.node(constant).output) & set(reader.input)


def test_search_reports_a_malformed_regex_and_caps_its_hits() -> None:
    index = wb.samples.open("tiny_bert").view_index
    assert index.search("/(/")["error"].startswith("Invalid regular expression")
    everything = index.search("/./", limit=3)
    assert len(everything["hits"]) == 3 and everything["total"] > 3
    assert index.search("   ")["hits"] == []


def test_tensor_viewer_prints_a_slice_of_a_weight_and_sends_it_as_npy() -> None:
    m = wb.samples.open("tiny_cnn")
    index = m.view_index
    weight = m.weight("stem.conv.weight")  # 16×3×3×3
    view = index.tensor("stem.conv.weight", "0, 1")
    assert (view["shape"], view["view_shape"], view["dtype"]) == ("16×3×3×3", "3×3", "float32")
    assert view["text"] == np.array2string(weight[0, 1], threshold=1000, edgeitems=4, precision=6, max_line_width=96)
    assert view["stats"]["max"] == pytest.approx(float(weight[0, 1].max()))
    whole = index.tensor("stem.conv.weight")
    assert whole["view_shape"] == "16×3×3×3" and "..." not in whole["text"]  # 432 values, all shown
    big = tensor_view(np.zeros((50, 50), np.float32), "z")
    assert "..." in big["text"] and len(big["text"]) < 2_000  # 2,500 values: numpy's summary
    sent = index.tensor("stem.conv.weight", "::4, ..., -1", npy=True)
    loaded = np.load(io.BytesIO(base64.b64decode(sent["npy"])))
    np.testing.assert_array_equal(loaded, weight[::4, ..., -1])


def test_tensor_viewer_reads_constants_and_refuses_what_is_not_an_index() -> None:
    index = wb.open(_constants_model()).view_index
    assert index.tensor("two")["text"] == "2."
    with pytest.raises(wb.errors.UsageError, match=r"write integers, slices"):
        index.tensor("big", "__import__('os')")
    with pytest.raises(wb.errors.UsageError, match=r"does not fit 'big' of shape 2×3"):
        index.tensor("big", "5")
    with pytest.raises(wb.errors.NotFoundError, match="No weight 'x'"):
        index.tensor("x")
