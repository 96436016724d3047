"""The hierarchy the view derives for graphs with no scopes: classic CNNs (onnx's light models)
and a scope-less residual stack, each read the way a person would draw it."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from helpers import LIGHT_MODELS
from onnx import helper, numpy_helper

import workbench as wb
from workbench.graph import FAN_OUT


def _light(name: str) -> wb.graph.ViewIndex:
    return wb.open(next(p for p in LIGHT_MODELS if p.stem == f"light_{name}")).view_index


def _items(index: wb.graph.ViewIndex, group_id: str) -> list[dict]:
    return index.group(group_id)["items"]


def _groups(items: list[dict]) -> list[dict]:
    return [i for i in items if i["kind"] == "group"]


@pytest.mark.parametrize("path", LIGHT_MODELS, ids=lambda p: p.stem)
def test_every_group_is_named_by_what_it_holds(path) -> None:
    index = wb.open(path).view_index
    labels = [index.group(g)["label"] for g in index.group_ids]
    assert not [label for label in labels if label.startswith(("items ", "nodes "))]
    # weights computed from constants (ConstantOfShape in onnx's light models) are not boxes
    drawn = [i for g in index.group_ids for i in _items(index, g) if i["kind"] == "node"]
    assert not [i for i in drawn if i["op"] == "ConstantOfShape"]
    assert len(drawn) == len({i["node"] for i in drawn})


def test_densenet_shows_its_stem_and_dense_blocks_at_first_paint() -> None:
    index = _light("densenet121")
    root = _items(index, index.root)
    assert root[0]["kind"] == "input" and root[1]["op"] == "Conv"  # data → the stem's Conv
    stages = _groups(root)
    assert [s["label"] for s in stages] == ["stage 1: 56×56", "stage 2: 28×28", "stage 3: 14×14", "stage 4: 7×7"]
    blocks = [b for s in stages for b in _groups(_items(index, s["group"]))]
    assert [(b["label"], b["repeat"]) for b in blocks] == [
        ("BN·Relu·Conv·Concat × 6", 6), ("BN·Relu·Conv·Concat × 12", 12),
        ("BN·Relu·Conv·Concat × 24", 24), ("BN·Relu·Conv·Concat × 16", 16)]
    payload = index.payload()
    assert {s["group"] for s in stages} <= set(payload["expanded"])
    # the first screen: every stage open, the 58 dense layers folded into four boxes
    shown = len(root) - len(stages) + sum(len(_items(index, s["group"])) for s in stages)
    assert shown <= 60


def test_resnet_stages_hold_three_four_six_three_bottlenecks() -> None:
    index = _light("resnet50")
    stages = _groups(_items(index, index.root))
    assert [s["label"] for s in stages] == ["stage 1: 56×56", "stage 2: 28×28", "stage 3: 14×14", "stage 4: 7×7"]
    counts = []
    for stage in stages:
        blocks = _groups(_items(index, stage["group"]))
        counts.append(sum(b.get("repeat", 1) for b in blocks))
        assert all(b["label"].startswith("Conv·BN·Relu·Sum") for b in blocks)
    assert counts == [3, 4, 6, 3]


def test_inception_modules_are_blocks_that_end_in_their_concat() -> None:
    index = _light("inception_v2")
    stages = _groups(_items(index, index.root))
    assert [s["label"] for s in stages] == ["stage 1: 28×28", "stage 2: 14×14", "stage 3: 7×7"]
    modules = [b for s in stages for b in _groups(_items(index, s["group"]))]
    assert sum(b.get("repeat", 1) for b in modules) == 10  # inception 3a … 5b
    assert all(re.fullmatch(r"Conv·BN·Relu…Concat( × \d+)?", b["label"]) for b in modules)


def test_small_graphs_are_drawn_flat() -> None:
    index = _light("squeezenet")
    assert not _groups(_items(index, index.root))


def _residual_stack(layers: int) -> onnx.ModelProto:
    """A scope-less stack of residual MLP layers, each also reading one shared mask."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Neg", ["x"], ["mask"], name="n_mask")]
    weights = []
    value = "x"
    for k in range(layers):
        weights.append(numpy_helper.from_array(rng.standard_normal((8, 8)).astype(np.float32), f"w{k}"))
        nodes += [
            helper.make_node("MatMul", [value, f"w{k}"], [f"h{k}"], name=f"n{3 * k}"),
            helper.make_node("Relu", [f"h{k}"], [f"r{k}"], name=f"n{3 * k + 1}"),
            helper.make_node("Add", [value, f"r{k}"], [f"s{k}"], name=f"n{3 * k + 2}"),
            helper.make_node("Mul", [f"s{k}", "mask"], [f"y{k}"], name=f"n{3 * k + 3}x"),
        ]
        value = f"y{k}"
    graph = helper.make_graph(nodes, "stack", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 8])],
                              [helper.make_tensor_value_info(value, onnx.TensorProto.FLOAT, [2, 8])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_repeated_layers_fold_even_when_every_layer_reads_a_shared_value() -> None:
    layers = 50
    assert layers > FAN_OUT  # the mask is drawn as a ref per reader, so it does not join the layers
    index = wb.open(_residual_stack(layers)).view_index
    (repeat,) = _groups(_items(index, index.root))
    assert repeat["label"] == f"MatMul·Relu·Add·Mul × {layers}" and repeat["repeat"] == layers
    members = _items(index, repeat["group"])
    assert [m["label"] for m in members[:2]] == ["MatMul·Relu·Add·Mul #1", "MatMul·Relu·Add·Mul #2"]
    assert all(index.group(m["group"])["nodes"] == 4 for m in members)
    # the derived groups keep the view's invariants: each node once, edges within their level
    drawn = [i["node"] for g in index.group_ids for i in _items(index, g) if i["kind"] == "node"]
    assert sorted(drawn) == sorted(r.id for r in index.model.records)
