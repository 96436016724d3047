"""JupyterLab without our extension, with anywidget's front end: the graph view widget
(``m.view()``) still draws from the wheel's bundle, clicks and opened groups reach Python, Python's
selection reaches the view, and a model whose strings are HTML payloads shows them as text. A
plain ``m`` output falls back to its ``text/html``: the standalone block, which draws the view
without a kernel.

The module starts its own JupyterLab (loopback, token) whose user configuration folder
(``JUPYTER_CONFIG_DIR``) disables the ``onnx-workbench`` extension in ``labconfig/page_config.json``,
as ``jupyter labextension disable --level=user onnx-workbench`` would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING

import onnx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import (
    SCRATCH_VIEWPORT,
    VIEWER,
    LabPage,
    Notebook,
    Viewer,
    _new_page,
    _running_lab,
)
from tests.ui.test_graph_xss import IMG, MATMUL, RELU, assert_inert, assert_runnable_view, runnable_model

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

    from tests.ui.conftest import LabServer

EXTENSION = "onnx-workbench"
OUR_PLUGINS = ("onnx-workbench:graph", "onnx-workbench:file-viewer")
VIEW_MIME_TYPE = "application/vnd.onnx-workbench.graph+json"
XSS_MODEL = "xss_run.onnx"
FOLDER = "without_extension"
GROUP = "g:embeddings"  # a group of tiny_bert's root, closed at first: its content comes from the kernel
NODE = "node_Gather_1"  # a node in GROUP
PYTHON_NODE = "node_Add_78"  # selected from Python: in g:pooler/dense, in g:pooler

CELLS = [
    "import workbench as wb\nm = wb.samples.open('tiny_bert')",
    # A lean payload, the root group alone, nothing open: the view asks the kernel for the rest.
    "v = m.view()\nv.payload = m.view_index.payload(budget=1_000, expanded=[])\nv.expanded = []\nv",
    "print('python sees', {'selected': v.selected, 'expanded': sorted(v.expanded)})",
    f"v.select({PYTHON_NODE!r})",
    "m",
    f"x = wb.open({XSS_MODEL!r}).view()\nx.set_overlay({{{MATMUL!r}: 1.0, {RELU!r}: 2.0}}, label={IMG!r})\nx",
]
OPEN_CELL, VIEW_CELL, PRINT_CELL, SELECT_CELL, MODEL_CELL, XSS_CELL = range(len(CELLS))
NOTEBOOK = "without_extension.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)
RUN_FIRST = (OPEN_CELL,)


@pytest.fixture(scope="module")
def bare_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab rooted at an empty temporary folder, our extension disabled at the user level,
    the application object exposed as ``window.jupyterapp``."""
    config = tmp_path_factory.mktemp("jupyter-config")
    (config / "labconfig").mkdir()
    (config / "labconfig/page_config.json").write_text(
        json.dumps({"disabledExtensions": {EXTENSION: True}}), encoding="utf-8"
    )
    root = tmp_path_factory.mktemp("lab-without-extension-root")
    work = tmp_path_factory.mktemp("lab-without-extension")
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("JUPYTER_CONFIG_DIR", str(config))  # the server reads it when it starts
            server = stack.enter_context(_running_lab(root, work, "--LabApp.expose_app_in_browser=True"))
        yield server


@pytest.fixture(scope="module")
def module_lab_page(browser: Browser, bare_lab: LabServer) -> Iterator[LabPage]:
    """One page on that JupyterLab for the module, in place of the scratch JupyterLab's: the
    ``notebook`` and ``lab_page`` fixtures of ``conftest.py`` then work on it."""
    errors: list[str] = []
    with _new_page(browser, errors, SCRATCH_VIEWPORT) as new_page:
        lab_page = LabPage(page=new_page, server=bare_lab, folder=FOLDER, errors=errors)
        lab_page.dir.mkdir()
        onnx.save(runnable_model(), lab_page.dir / XSS_MODEL)
        lab_page.goto()
        yield lab_page


def python_sees(selected: list[str], expanded: list[str]) -> str:
    """What the print cell shows for ``v.selected`` and ``v.expanded`` (sorted)."""
    return f"python sees {{'selected': {selected!r}, 'expanded': {sorted(expanded)!r}}}"


def test_extension_is_disabled(lab_page: LabPage, notebook: Notebook) -> None:
    """The page config disables our extension: none of its plugins is registered, and the
    notebook's renderers know neither our MIME type; anywidget's plugin is there."""
    state = lab_page.page.evaluate(
        """([plugins, mime]) => {
          const app = window.jupyterapp;
          const panel = app.shell.currentWidget;
          return {
            ours: plugins.filter(id => app.hasPlugin(id)),
            anywidget: app.hasPlugin('anywidget:plugin'),
            mime: panel.content.rendermime.mimeTypes.includes(mime),
          };
        }""",
        [list(OUR_PLUGINS), VIEW_MIME_TYPE],
    )
    assert state == {"ours": [], "anywidget": True, "mime": False}


def test_widget_round_trip(lab_page: LabPage, notebook: Notebook) -> None:
    """``m.view()`` draws; a group opened in it (fetched from the kernel) and a node clicked in
    it (its details fetched from the kernel) reach ``v.expanded`` and ``v.selected``; then
    ``v.select(...)`` in Python selects a node in two groups the view has not loaded."""
    viewer = notebook.show(VIEW_CELL)
    expect(notebook.output(VIEW_CELL).locator(".jp-OnnxWorkbench-widget")).to_have_count(1)
    group = viewer.group(GROUP)
    expect(group).not_to_have_class(viewer.state("frame"))
    expect(viewer.node(NODE)).to_have_count(0)  # not in the lean payload
    with viewer.relayout():
        viewer.click(group)
    expect(group).to_have_class(viewer.state("frame"))
    viewer.click(viewer.node(NODE))
    expect(viewer.node(NODE)).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", NODE)
    expect(viewer.part("detailsOp")).to_contain_text("Gather")
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(python_sees([NODE], [GROUP]))
    view_cell, print_cell = notebook.cells.nth(VIEW_CELL), notebook.cells.nth(PRINT_CELL)
    lab_page.screenshot("lab-without-extension-widget.png", view_cell, print_cell)

    notebook.run(SELECT_CELL)
    expect(viewer.node(PYTHON_NODE)).to_have_class(viewer.state("selected"))
    for opened in ("g:pooler", "g:pooler/dense"):
        expect(viewer.group(opened)).to_have_class(viewer.state("frame"))
    expect(viewer.part("details")).to_have_attribute("data-node", PYTHON_NODE)
    expect(viewer.node(NODE)).not_to_have_class(viewer.state("selected"))
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(python_sees([PYTHON_NODE], [GROUP, "g:pooler", "g:pooler/dense"]))
    lab_page.assert_no_errors()


def show_model(notebook: Notebook) -> tuple[Locator, Viewer]:
    """Runs the cell that shows ``m``; returns its standalone block and the view drawn in it."""
    notebook.run(MODEL_CELL)
    output = notebook.output(MODEL_CELL)
    expect(output.locator(".jp-OnnxWorkbench-renderer")).to_have_count(0)  # not our MIME renderer
    block = output.locator(".jp-OnnxWorkbench-standalone")
    expect(block).to_have_count(1)
    return block, Viewer(block.locator(VIEWER)).wait_ready()


def test_model_output_draws_standalone_view(lab_page: LabPage, notebook: Notebook) -> None:
    """A plain ``m`` output falls back to its ``text/html``: the standalone block, whose module
    script (run in a trusted output) draws the card and an interactive view with no kernel
    behind it: a click shows a node's details, a group folds."""
    block, viewer = show_model(notebook)
    expect(block.locator(".jp-OnnxWorkbench-summary .jp-OnnxWorkbench-title")).to_have_text("tiny_bert")
    viewer.click(viewer.node(NODE))
    expect(viewer.node(NODE)).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", NODE)
    expect(viewer.part("detailsOp")).to_contain_text("Gather")
    group = viewer.group(GROUP)
    expect(group).to_have_class(viewer.state("frame"))  # the complete payload opens it at first paint
    with viewer.relayout():
        viewer.click(viewer.frame_header(GROUP))
    expect(group).not_to_have_class(viewer.state("frame"))
    lab_page.screenshot("lab-without-extension-model.png", block.locator(".jp-OnnxWorkbench-standaloneBody"))
    lab_page.assert_no_errors()


def test_model_output_canvas_fills_view(lab_page: LabPage, notebook: Notebook) -> None:
    """The standalone view's canvas fills the view below its toolbar, as the details panel does:
    JupyterLab's rule for every svg of a rendered HTML output (``.jp-RenderedHTMLCommon svg
    {height: auto}``) would shrink it to an svg's default 150 px."""
    block, viewer = show_model(notebook)
    canvas = viewer.root.locator("svg.jp-OnnxWorkbench-svg").bounding_box()
    view = viewer.root.bounding_box()
    toolbar = viewer.part("toolbar").bounding_box()
    assert canvas and view and toolbar
    assert canvas["height"] >= view["height"] - toolbar["height"] - 4, (canvas, view, toolbar)


def test_hostile_strings_in_graph_widget(lab_page: LabPage, notebook: Notebook) -> None:
    """The widget's view of a model whose strings are HTML payloads, and its overlay legend,
    show them as text; no payload becomes an element or runs."""
    viewer = notebook.show(XSS_CELL)
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(IMG)
    expect(viewer.node(MATMUL)).to_have_class(viewer.state("overlaid"))
    assert_runnable_view(viewer)
    assert_inert(lab_page, notebook.output(XSS_CELL))
    notebook.cells.nth(XSS_CELL).scroll_into_view_if_needed()
    lab_page.screenshot("lab-without-extension-xss.png", notebook.cells.nth(XSS_CELL))
    lab_page.assert_no_errors()
