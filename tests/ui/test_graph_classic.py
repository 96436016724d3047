"""What a Netron user meets first, on the classic models onnx ships (no module scopes): a
hierarchy that means something at first paint, chips that name each weight by its role, small
constants by value, and the operator's documentation behind a "?" in the details."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import onnx.defs
import pytest
from helpers import LIGHT_MODELS
from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage

CLASSICS = ("densenet121", "inception_v2", "resnet50")


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    for name in CLASSICS:
        shutil.copy(next(p for p in LIGHT_MODELS if p.stem == f"light_{name}"), module_lab_page.dir / f"{name}.onnx")


@pytest.mark.parametrize("name", CLASSICS)
def test_classic_models_open_on_stages_and_folded_blocks(lab_page: LabPage, name: str) -> None:
    content = lab_page.open_in_file_browser(f"{name}.onnx")
    viewer = lab_page.viewer_in(content)
    index = wb.open(lab_page.dir / f"{name}.onnx").view_index
    stages = [i for i in index.group(index.root)["items"] if i["kind"] == "group"]
    assert stages and all(s["label"].startswith("stage ") for s in stages)
    for stage in stages:  # every stage is open at first paint, with its blocks drawn
        expect(viewer.group(stage["group"])).to_have_count(1)
        expect(viewer.frame_header(stage["group"])).to_contain_text(stage["label"])
    labels = viewer.items.evaluate_all("items => items.map(i => i.textContent)")
    assert not [text for text in labels if "items " in text]
    expect(viewer.root.locator("g.jp-OnnxWorkbench-repeat").first).to_be_visible()
    # the input, then the stem's Conv, on the first screen
    expect(viewer.item(f"in:{index.group(index.root)['items'][0]['label']}")).to_be_in_viewport()
    lab_page.screenshot(f"graph-classic-{name}.png", lab_page.page)
    lab_page.assert_no_errors()


def test_chips_name_weights_by_role_and_details_document_the_operator(lab_page: LabPage) -> None:
    content = lab_page.open_in_file_browser("resnet50.onnx")
    viewer = lab_page.viewer_in(content)
    model = wb.open(lab_page.dir / "resnet50.onnx")
    bn = next(n for n, op in model.nodes.op_type.items() if op == "BatchNormalization")
    # the roles of the model's own opset: BatchNormalization-7 calls its statistics mean and var
    schema = onnx.defs.get_schema("BatchNormalization", model.proto.opset_import[0].version, "")
    inputs = [p.name for p in schema.inputs]
    assert inputs == ["X", "scale", "B", "mean", "var"]
    node = viewer.node(bn)
    expect(node).to_have_count(1)
    expect(node.locator(".jp-OnnxWorkbench-weight")).to_have_text(
        ["scale ⟨64⟩", "B ⟨64⟩", "mean ⟨64⟩", "var ⟨64⟩"])
    viewer.click(node)
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", bn)
    roles = details.locator(".jp-OnnxWorkbench-role")
    expect(roles).to_have_text([*inputs, "Y"])
    doc = details.locator(".jp-OnnxWorkbench-operatorDoc")
    expect(doc).to_be_hidden()
    details.locator(".jp-OnnxWorkbench-opHelp").click()
    expect(doc).to_be_visible()
    expect(doc).to_contain_text("ai.onnx.BatchNormalization, since opset")
    expect(doc).to_contain_text("epsilon")
    lab_page.screenshot("graph-operator-doc.png", lab_page.page)
    lab_page.assert_no_errors()
