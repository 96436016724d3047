"""The GraphView widget (``m.view()``) in JupyterLab: clicks reach Python, Python's selection
and overlays reach the view. Saves the docs' screenshots of both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Notebook, Viewer

SELECTED_NODE = "/layer2/0/Add_24"
CELLS = [
    "import workbench as wb\nm = wb.samples.open('tiny_cnn')\nv = m.view()\nv",
    "print('selected:', v.selected)",
    f"v.select({SELECTED_NODE!r})",
    "v.set_overlay(m.nodes.params.astype(float), label='params')",
]
VIEW_CELL, PRINT_CELL, SELECT_CELL, OVERLAY_CELL = range(len(CELLS))


NOTEBOOK = "graph_widget.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)


def fresh_view(notebook: Notebook) -> Viewer:
    """Runs the cell that creates and shows ``v``: a new widget at its first paint."""
    viewer = notebook.show(VIEW_CELL)
    expect(notebook.output(VIEW_CELL).locator(".jp-OnnxWorkbench-widget")).to_have_count(1)
    return viewer


def test_click_selects_in_python_and_python_selects_in_view(
    lab_page: LabPage, notebook: Notebook
) -> None:
    """A click in the view sets ``v.selected``; ``v.select(...)`` selects in the view and
    opens the details."""
    node_id = "/stem/conv/Conv_1"
    viewer = fresh_view(notebook)
    viewer.node(node_id).click()
    expect(viewer.node(node_id)).to_have_class(viewer.state("selected"))
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(f"selected: [{node_id!r}]")
    notebook.cells.nth(VIEW_CELL).scroll_into_view_if_needed()
    view_cell, print_cell = notebook.cells.nth(VIEW_CELL), notebook.cells.nth(PRINT_CELL)
    lab_page.screenshot("graph-widget.png", view_cell, print_cell)

    notebook.run(SELECT_CELL)
    expect(viewer.node(SELECTED_NODE)).to_have_class(viewer.state("selected"))
    expect(viewer.node(node_id)).not_to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", SELECTED_NODE)
    expect(viewer.part("detailsOp")).to_contain_text("Add")
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(f"selected: [{SELECTED_NODE!r}]")
    lab_page.assert_no_errors()


def test_click_in_widget_leaves_view_in_place(lab_page: LabPage, notebook: Notebook) -> None:
    """Clicking a node selects it where it is, as in a notebook output: no re-layout, no pan."""
    viewer = fresh_view(notebook)
    node = viewer.node("/stem/conv/Conv_1")
    before = (viewer.layout_count, node.bounding_box())
    node.click()
    expect(node).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", "/stem/conv/Conv_1")
    notebook.run(PRINT_CELL)  # the selection has made the round trip to the kernel
    expect(notebook.output(PRINT_CELL)).to_contain_text("/stem/conv/Conv_1")
    after = (viewer.layout_count, node.bounding_box())
    assert after[0] == before[0]  # no new layout
    # the node stays where it was (the selection outline may grow its box by a pixel or two)
    centre = [(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2) for box in (before[1], after[1])]
    assert abs(centre[0][0] - centre[1][0]) < 3 and abs(centre[0][1] - centre[1][1]) < 3


def test_overlay_from_python_colours_nodes(lab_page: LabPage, notebook: Notebook) -> None:
    """``v.set_overlay(params)`` fills the nodes with values on a colour scale (the largest
    and the smallest value differ in colour) and shows a legend with the label."""
    params = wb.samples.open("tiny_cnn").nodes.params
    viewer = fresh_view(notebook)
    legend = viewer.part("legend")
    expect(legend).to_be_hidden()
    expect(viewer.root.locator("g.jp-OnnxWorkbench-overlaid")).to_have_count(0)

    notebook.run(OVERLAY_CELL)
    expect(legend).to_be_visible()
    expect(legend.locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("params")
    drawn = viewer.root.locator("g.jp-OnnxWorkbench-item[data-kind='node']").all()
    drawn_ids = [node.get_attribute("data-node") for node in drawn]
    assert drawn_ids, "the view draws no nodes"
    for node in drawn:
        expect(node).to_have_class(viewer.state("overlaid"))
    largest = max(drawn_ids, key=lambda node_id: params[node_id])
    smallest = min(drawn_ids, key=lambda node_id: params[node_id])
    assert params[largest] > params[smallest]
    hot, cold = (fill(viewer.node(node_id)) for node_id in (largest, smallest))
    assert hot != cold, f"{largest} and {smallest} are both filled {hot}"
    lab_page.screenshot("graph-overlay.png", viewer.root)
    lab_page.assert_no_errors()


def fill(node: Locator) -> str:
    """The colour a node's header is filled with, as the browser computes it."""
    header = node.locator(":scope > .jp-OnnxWorkbench-header")
    return header.evaluate("el => getComputedStyle(el).fill")
