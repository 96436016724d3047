"""Search over the whole model in the `.onnx` file viewer: a node deep inside a group the view
has not loaded is found by the server and revealed, on a model of over 10,000 nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage

MODEL = "deep_stack.onnx"
LAYERS = 200
#: The node searched for: one name in layer 187 of 200, inside its MLP.
DEEP = f"/model/layers.{LAYERS - 13}/mlp/Softmax_deep"


def _deep_stack() -> onnx.ModelProto:
    """200 scoped layers of 51 nodes each (TorchScript-style names): 10,200 nodes, with one
    Softmax in layer 187 named apart from the others."""
    weight = numpy_helper.from_array(np.eye(8, dtype=np.float32), "w")
    nodes = []
    value = "x"
    for k in range(LAYERS):
        scope = f"/model/layers.{k}"
        for block in ("attn", "mlp"):
            for i in range(25):
                op = "MatMul" if i % 5 == 0 else "Relu"
                inputs = [value, "w"] if op == "MatMul" else [value]
                name = DEEP if (k, block, i) == (LAYERS - 13, "mlp", 12) else f"{scope}/{block}/{op}_{i}"
                nodes.append(helper.make_node(op, inputs, [f"{scope}/{block}/v{i}"], name=name))
                value = f"{scope}/{block}/v{i}"
        nodes.append(helper.make_node("Add", [value, "x"], [f"{scope}/out"], name=f"{scope}/Add"))
        value = f"{scope}/out"
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info(value, onnx.TensorProto.FLOAT, [1, 8])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    onnx.save(_deep_stack(), module_lab_page.dir / MODEL)


def test_search_finds_and_reveals_a_node_in_a_group_not_loaded(lab_page: LabPage) -> None:
    model = wb.open(lab_page.dir / MODEL)
    assert len(model.nodes) > 10_000
    payload = model.view_index.payload(budget=wb.graph.LAZY_PAYLOAD_BYTES)
    owner = model.view_index.ancestors(DEEP)[-1]
    assert owner not in payload["groups"]  # the viewer starts without the group holding it

    content = lab_page.open_in_file_browser(MODEL)
    viewer = lab_page.viewer_in(content)
    expect(viewer.node(DEEP)).to_have_count(0)
    viewer.search("softmax_deep")
    counter = viewer.part("counter")
    expect(counter).to_have_text("1 hit")  # the server's answer, over groups never loaded here
    with viewer.relayout():
        viewer.part("search").press("Enter")
    expect(viewer.node(DEEP)).to_have_count(1)
    expect(counter).to_have_text("1 / 1")
    # revealed on screen, not only drawn
    box, canvas = viewer.node(DEEP).bounding_box(), viewer.part("canvas").bounding_box()
    assert box is not None and canvas is not None
    assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    assert canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"]
    lab_page.screenshot("graph-search-deep.png", lab_page.page)

    # a query with more hits than loaded: every layer's Add, counted over the whole model
    viewer.search("/layers\\.\\d+/Add$/")
    expect(counter).to_have_text(f"{LAYERS} hits")
    lab_page.assert_no_errors()
