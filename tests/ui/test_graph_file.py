"""The `.onnx` file viewer: a model double-clicked in JupyterLab's file browser opens in a
tab (its view served by the server route); a file that is not a model shows why."""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

import workbench as wb
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage

FAILED_REQUEST = "Failed to load resource"  # the console line of the route's 400

MODEL = "tiny_cnn.onnx"
NOT_A_MODEL = "notes.onnx"


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    """Writes a sample model and a file of random bytes named like one."""
    wb.samples.save("tiny_cnn", module_lab_page.dir)
    (module_lab_page.dir / NOT_A_MODEL).write_bytes(random.Random(0).randbytes(4096))


def test_file_browser_opens_model_in_viewer(lab_page: LabPage) -> None:
    """Double-clicking a model opens a tab with its graph view; expanding a group and
    opening a node's details work there too."""
    content = lab_page.open_in_file_browser(MODEL)
    viewer = lab_page.viewer_in(content)
    expect(viewer.item("in:image")).to_have_count(1)
    expect(viewer.node("/stem/conv/Conv_1")).to_have_count(1)
    repeat = viewer.root.locator("g.jp-OnnxWorkbench-repeat")
    expect(repeat).to_have_count(1)
    with viewer.relayout():
        viewer.click(repeat)
    expect(viewer.group("g:layer1/0")).to_have_count(1)

    viewer.node("/stem/conv/Conv_1").click()
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", "/stem/conv/Conv_1")
    expect(details.locator(".jp-OnnxWorkbench-detailsAttributes")).to_contain_text("kernel_shape")
    lab_page.screenshot("graph-file.png", lab_page.page)
    lab_page.assert_no_errors()


def test_file_that_is_not_a_model_shows_why(lab_page: LabPage) -> None:
    """A file named .onnx that does not parse shows the server's message, naming the file as
    the user knows it (not by its place on the server)."""
    path = f"{lab_page.folder}/{NOT_A_MODEL}"
    with pytest.raises(WorkbenchError, match="not an ONNX model"):
        wb.open(lab_page.dir / NOT_A_MODEL)
    content = lab_page.open_in_file_browser(NOT_A_MODEL)
    status = content.locator(".jp-OnnxWorkbench-status.jp-mod-error")
    quoted = re.escape(path)
    expect(status).to_have_text(
        re.compile(rf"^Could not open {quoted}: '{quoted}' is not an ONNX model: .+")
    )
    expect(status).not_to_contain_text(str(lab_page.server.root))
    expect(content.locator(".jp-OnnxWorkbench-viewer")).to_have_count(0)
    lab_page.assert_no_errors(allow=(FAILED_REQUEST,))
