"""Model strings are text, never markup: a model whose names, doc strings and metadata are
HTML payloads is shown in a notebook output and in the file viewer, and nothing runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import onnx
import pytest
from onnx import TensorProto, helper
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Viewer

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
MODEL = "xss.onnx"
# The file viewer's copy: the file name is a payload too.
HOSTILE_FILE = f"{IMG}.onnx"
RELU = f"relu {IMG}"
CUSTOM_OP = f"Op{IMG}"
DOMAIN = "com.x<b>"


def hostile_model() -> onnx.ModelProto:
    """A valid model whose every free-text field is an HTML or SVG payload."""
    nodes = [
        helper.make_node("Relu", [IMG], [f"mid {SVG}"], name=RELU, doc_string=SCRIPT),
        helper.make_node("Identity", [f"mid {SVG}"], [f"id {SCRIPT}"], name=SCRIPT, doc_string=IMG),
        helper.make_node(
            CUSTOM_OP, [f"id {SCRIPT}"], [SVG], name=SVG, domain=DOMAIN, doc_string=SVG
        ),
    ]
    graph = helper.make_graph(
        nodes,
        SCRIPT,
        [helper.make_tensor_value_info(IMG, TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(SVG, TensorProto.FLOAT, [1, 4])],
        doc_string=SVG,
    )
    model = helper.make_model(
        graph,
        producer_name=SVG,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 1)],
        doc_string=IMG,
    )
    helper.set_model_props(model, {IMG: SCRIPT, "note": SVG})
    return model


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    """Writes the hostile model twice: as `xss.onnx` and under a hostile file name."""
    model = hostile_model()
    for name in (MODEL, HOSTILE_FILE):
        onnx.save(model, module_lab_page.dir / name)


def open_relu_details(viewer: Viewer) -> None:
    """Clicks the node named with the `<img>` payload and waits for its details."""
    viewer.node(RELU).click()
    expect(viewer.part("details")).to_have_attribute("data-node", RELU)
    expect(viewer.part("detailsFacts")).to_be_visible()


def assert_inert(lab_page: LabPage, container: Locator) -> None:
    """No payload in ``container`` became an element, and none ran."""
    expect(container.locator("img, script, iframe, object, embed")).to_have_count(0)
    expect(container.locator("[onerror], [onload]")).to_have_count(0)
    assert lab_page.page.evaluate("() => window.__xss") is None, "a payload ran"


def assert_shown_as_text(viewer: Viewer) -> None:
    """The payloads read as text: in the relu node's details, and in the input and output
    pills' tooltips."""
    details = viewer.part("details")
    name = details.locator(".jp-OnnxWorkbench-detailsFacts th:text-is('name') + td")
    expect(name).to_have_text(RELU)
    expect(details.locator(".jp-OnnxWorkbench-doc")).to_have_text(SCRIPT)
    first_input = details.locator(".jp-OnnxWorkbench-detailsValue").first
    expect(first_input.locator(".jp-OnnxWorkbench-name")).to_have_text(IMG)
    expect(viewer.item(f"in:{IMG}").locator("title")).to_contain_text(IMG)
    expect(viewer.item(f"out:{SVG}").locator("title")).to_contain_text(SVG)


def test_hostile_strings_in_notebook_output(lab_page: LabPage) -> None:
    """The summary card and the view show the payloads as text."""
    notebook = lab_page.open_notebook(
        "xss.ipynb", [f"import workbench as wb\nwb.open({MODEL!r})"]
    )
    try:
        notebook.run(0)
        viewer = notebook.viewer(0)
        expect(viewer.root.locator("g.jp-OnnxWorkbench-item[data-kind='node']")).to_have_count(3)
        open_relu_details(viewer)
        output = notebook.output(0)
        card = output.locator(".jp-OnnxWorkbench-summary")
        expect(card).to_contain_text(IMG)
        expect(card).to_contain_text(SCRIPT)
        assert_inert(lab_page, output)
        assert_shown_as_text(viewer)
    finally:
        notebook.close()
    lab_page.assert_no_errors()


def test_hostile_strings_in_file_viewer(lab_page: LabPage) -> None:
    """The file viewer (payload from the server route, under a hostile file name) shows the
    payloads as text."""
    content = lab_page.open_in_file_browser(HOSTILE_FILE)
    viewer = lab_page.viewer_in(content)
    custom = viewer.node(SVG)
    expect(custom).to_contain_text("Op<img")
    custom.click()
    expect(viewer.part("detailsOp")).to_contain_text(CUSTOM_OP)
    expect(viewer.part("detailsOp")).to_contain_text(DOMAIN)
    open_relu_details(viewer)
    assert_inert(lab_page, content)
    assert_shown_as_text(viewer)
    tab_label = lab_page.page.locator("li.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel")
    expect(tab_label).to_have_text(HOSTILE_FILE)
    lab_page.assert_no_errors()
