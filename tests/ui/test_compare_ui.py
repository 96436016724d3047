"""A comparison report in JupyterLab: its summary, and the graph coloured by error with the
root cause selected. Saves the docs' screenshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage, Notebook

CAUSE = "/layer1/0/out/conv/Conv_7"
CELLS = [
    "import numpy as np, onnx, workbench as wb\n"
    "proto = wb.samples.proto('tiny_cnn')\n"
    f"conv = next(n for n in proto.graph.node if n.name == {CAUSE!r})\n"
    "w = next(t for t in proto.graph.initializer if t.name == conv.input[1])\n"
    "w.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(w) * np.float32(1.05), w.name))\n"
    "m = wb.samples.open('tiny_cnn')\n"
    "report = wb.compare(m, wb.random_inputs(m), candidate=wb.open(proto))\n"
    "report",
]

NOTEBOOK = "compare.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)


def test_report_colours_the_graph_by_error_and_selects_the_root_cause(lab_page: LabPage, notebook: Notebook) -> None:
    viewer = notebook.show(0)
    output = notebook.output(0)
    expect(output).to_contain_text(f"root cause: Conv '{CAUSE}'")
    cause = viewer.node(CAUSE)
    expect(cause).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", CAUSE)
    expect(cause).to_have_class(viewer.state("overlaid"))
    legend = viewer.part("legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("max_abs")
    upstream = viewer.node("/stem/conv/Conv_1")  # before the edit: no error
    header = ":scope > .jp-OnnxWorkbench-header"
    fills = [node.locator(header).evaluate("el => getComputedStyle(el).fill") for node in (cause, upstream)]
    assert fills[0] != fills[1], f"the root cause and an exact node are both filled {fills[0]}"
    lab_page.screenshot("compare.png", notebook.cells.nth(0))
    lab_page.assert_no_errors()
