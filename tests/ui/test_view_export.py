"""The view laid out left to right or with node names, saved as the SVG or PNG file a user puts
in a report, and a weight's values in the tensor viewer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage

MODEL = "tiny_cnn.onnx"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    wb.samples.save("tiny_cnn", module_lab_page.dir)


def _centre_x(box: dict | None) -> float:
    assert box is not None
    return box["x"] + box["width"] / 2


def test_l_lays_the_graph_out_left_to_right_and_back(lab_page: LabPage) -> None:
    viewer = lab_page.viewer_in(lab_page.open_in_file_browser(MODEL))
    image, stem = viewer.item("in:image"), viewer.group("g:stem")
    expect(viewer.root).to_have_attribute("data-direction", "TB")
    assert abs(_centre_x(image.bounding_box()) - _centre_x(stem.bounding_box())) < 40  # one above the other
    with viewer.relayout():
        viewer.press("l")
    expect(viewer.root).to_have_attribute("data-direction", "LR")
    image_box, stem_box = image.bounding_box(), stem.bounding_box()
    assert image_box is not None and stem_box is not None
    assert image_box["x"] + image_box["width"] <= stem_box["x"]  # the data flows to the right
    expect(viewer.part("direction")).to_have_attribute("title", "lay out top to bottom (l)")
    lab_page.screenshot("graph-left-to-right.png", lab_page.page)
    with viewer.relayout():
        viewer.part("direction").click()
    expect(viewer.root).to_have_attribute("data-direction", "TB")
    lab_page.assert_no_errors()


def test_n_shows_node_names_on_their_boxes(lab_page: LabPage) -> None:
    viewer = lab_page.viewer_in(lab_page.open_in_file_browser(MODEL))
    conv = viewer.node("/stem/conv/Conv_1")
    expect(conv).to_have_count(1)
    expect(conv.locator(".jp-OnnxWorkbench-weight")).to_have_text(["W ⟨16×3×3×3⟩"])
    height = conv.bounding_box()["height"]
    with viewer.relayout():
        viewer.press("n")
    expect(viewer.root).to_have_attribute("data-names", "true")
    expect(conv.locator(".jp-OnnxWorkbench-weight")).to_have_text(["/stem/conv/Conv_1", "W ⟨16×3×3×3⟩"])
    assert conv.bounding_box()["height"] > height  # the box grew a line: the layout made room
    expect(viewer.part("names")).to_have_attribute("aria-pressed", "true")
    lab_page.screenshot("graph-names.png", lab_page.page)
    with viewer.relayout():
        viewer.part("names").click()
    expect(conv.locator(".jp-OnnxWorkbench-weight")).to_have_text(["W ⟨16×3×3×3⟩"])
    lab_page.assert_no_errors()


def test_the_view_saves_as_svg_and_png(lab_page: LabPage, tmp_path) -> None:
    viewer = lab_page.viewer_in(lab_page.open_in_file_browser(MODEL))
    expect(viewer.group("g:stem")).to_have_count(1)
    with lab_page.page.expect_download() as svg_download:
        viewer.part("saveSvg").click()
    assert svg_download.value.suggested_filename == "tiny_cnn.svg"
    svg = tmp_path / "view.svg"
    svg_download.value.save_as(svg)
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in text
    # what the page shows, with its theme's colours written in: it reads the same outside JupyterLab
    assert ">image<" in text and "stem</text>" in text and "fill:rgb(" in text and "var(--" not in text
    with lab_page.page.expect_download() as png_download:
        viewer.part("savePng").click()
    assert png_download.value.suggested_filename == "tiny_cnn.png"
    png = tmp_path / "view.png"
    png_download.value.save_as(png)
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 5_000
    lab_page.assert_no_errors()


def test_the_tensor_viewer_shows_a_weights_values_and_saves_a_slice(lab_page: LabPage, tmp_path) -> None:
    viewer = lab_page.viewer_in(lab_page.open_in_file_browser(MODEL))
    model = wb.open(lab_page.dir / MODEL)
    conv = "/stem/conv/Conv_1"
    viewer.click(viewer.node(conv))
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", conv)
    details.locator(".jp-OnnxWorkbench-showValues").first.click()
    values = details.locator(".jp-OnnxWorkbench-tensorValues")
    expect(values).to_have_text(model.view_index.tensor("stem.conv.weight")["text"])
    index = details.locator(".jp-OnnxWorkbench-tensorIndex")
    index.fill("0, 1")
    index.press("Enter")
    expect(values).to_have_text(model.view_index.tensor("stem.conv.weight", "0, 1")["text"])
    facts = details.locator(".jp-OnnxWorkbench-tensor .jp-OnnxWorkbench-stats")
    expect(facts).to_contain_text("float32 ⟨3×3⟩ of ⟨16×3×3×3⟩")
    lab_page.screenshot("graph-tensor-viewer.png", lab_page.page)
    with lab_page.page.expect_download() as npy_download:
        details.locator(".jp-OnnxWorkbench-saveNpy").click()
    assert npy_download.value.suggested_filename == "stem.conv.weight.npy"
    path = tmp_path / "w.npy"
    npy_download.value.save_as(path)
    np.testing.assert_array_equal(np.load(path), model.weight("stem.conv.weight")[0, 1])
    # a wrong index says why, in place of the values
    index.fill("0,,")
    index.press("Enter")
    expect(values).to_contain_text("write integers, slices")
    lab_page.assert_no_errors(allow=("400 (Bad Request)",))
