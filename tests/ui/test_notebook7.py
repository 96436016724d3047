"""Notebook 7 (``jupyter notebook``), which loads JupyterLab's prebuilt extensions in its own
shell, shows every surface of the workbench: a model's notebook output (our MIME renderer's
summary card and graph view), the anywidget ``GraphView`` (a node clicked in the page is what a
later cell reads from ``v.selected``), the debugger widget (its Step button runs a node in the
kernel) and the ``.onnx`` file viewer, opened from Notebook 7's file tree in a tab of its own
(``/edit/<path>``).

A model whose every string is an HTML payload (tests/ui/test_graph_xss.py's corpus) is shown in
a notebook output, in ``m.view()`` and in the file viewer under a hostile file name: the
payloads read back as literal text, no payload element appears and ``window.__xss`` stays unset.

One Notebook 7 server (loopback, token) serves a temporary folder holding the notebook and the
models; cells are run as a person runs them, by a click in the cell and Ctrl+Enter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import nbformat
import onnx
import pytest
from helpers import SCREENSHOT_DIR
from playwright.sync_api import expect

import workbench as wb
from tests.ui.conftest import (
    KERNELSPEC,
    VIEWER,
    LabServer,
    Notebook,
    Viewer,
    _new_page,
    _running_lab,
)
from tests.ui.test_diff_ui import CHANGED_ATTRIBUTE, INSERTED, mlp, status_class
from tests.ui.test_graph_xss import (
    HOSTILE_FILE,
    IMG,
    MATMUL,
    PAYLOAD_ELEMENTS,
    RELU,
    assert_card,
    assert_hostile_view,
    assert_runnable_view,
    hostile_model,
    runnable_model,
    show_details,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

VIEWPORT = {"width": 1400, "height": 1150}
PAGE_LOAD_TIMEOUT_MS = 90_000
KERNEL_TIMEOUT_MS = 90_000
CELL_TIMEOUT_MS = 60_000
# Notebook 7.6's own shortcuts plugin throws this while the settings load, on every page, with or
# without our extension (checked with it disabled): not ours to fix, so not counted as an error.
NOTEBOOK_OWN_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)

DIFF_A, DIFF_B = "mlp_a.onnx", "mlp_b.onnx"  # tests/ui/test_diff_ui.py's pair
SAMPLE = "tiny_cnn"
MODEL_FILE = f"{SAMPLE}.onnx"
HOSTILE = "xss.onnx"
RUNNABLE = "xss_run.onnx"
NODE = "/stem/bn/BatchNormalization_2"  # drawn at first paint, not selected until clicked
NOTEBOOK = "workbench.ipynb"
PLUGINS = ("onnx-workbench:settings", "onnx-workbench:file-viewer")  # extension/src/plugins.ts
CELLS = [
    f"import workbench as wb\nm = wb.open({MODEL_FILE!r})",
    "m",
    "v = m.view()\nv",
    "v.selected",
    "dbg = wb.debug(m)\ndbg",
    f"wb.open({HOSTILE!r})",
    f"x = wb.open({RUNNABLE!r}).view()\nx.set_overlay({{{MATMUL!r}: 1.0, {RELU!r}: 2.0}}, label={IMG!r})\nx",
]
OPEN_CELL, OUTPUT_CELL, VIEW_CELL, SELECTED_CELL, DEBUG_CELL, XSS_OUTPUT_CELL, XSS_VIEW_CELL = range(len(CELLS))
STEPS = wb.debug(wb.samples.open(SAMPLE)).steps


class NotebookTab(Notebook):
    """The browser page of a notebook open in Notebook 7 (``/notebooks/<path>``), its kernel
    started: cells, outputs and viewers found as in JupyterLab (``Notebook``), cells run as a
    person runs them; the page's errors go to ``errors``."""

    def __init__(self, page: Page, errors: list[str]) -> None:
        super().__init__(page, NOTEBOOK)
        self.errors = errors
        self.runs = 0  # the cells run so far: the kernel's execution count

    def run(self, *indices: int) -> None:
        """Runs the cells at ``indices`` as a person does (a click in each, Ctrl+Enter), waiting
        until the kernel has run each; fails with the output if one wrote to stderr."""
        for index in indices:
            cell = self.cells.nth(index)
            cell.locator(".jp-InputArea-editor").click()
            self.page.keyboard.press("Control+Enter")
            self.runs += 1
            expect(cell.locator(".jp-InputArea-prompt")).to_have_text(f"[{self.runs}]:", timeout=CELL_TIMEOUT_MS)
            stderr = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            if stderr.count():
                raise AssertionError(f"cell {index} wrote to stderr:\n" + "\n".join(stderr.all_inner_texts()))

    def screenshot(self, name: str, target: Page | Locator | None = None) -> None:
        """Saves a screenshot of ``target`` (the page without one) as ``<SCREENSHOT_DIR>/<name>``."""
        save_screenshot(name, target or self.page)

    def assert_no_errors(self) -> None:
        """Fails if the page reported errors (other than Notebook 7's own) since the test started."""
        assert_no_errors(self.errors)


def save_screenshot(name: str, target: Page | Locator) -> None:
    """Saves a screenshot of ``target`` as ``<SCREENSHOT_DIR>/<name>``."""
    path = SCREENSHOT_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(path))


def assert_no_errors(errors: list[str]) -> None:
    """Fails if ``errors`` holds any error but Notebook 7's own (``NOTEBOOK_OWN_ERRORS``)."""
    ours = [e for e in errors if not any(text in e for text in NOTEBOOK_OWN_ERRORS)]
    assert not ours, "the page reported errors:\n" + "\n".join(ours)


def assert_inert(page: Page, container: Locator) -> None:
    """No payload in ``container`` became an element, and none ran."""
    expect(container.locator(PAYLOAD_ELEMENTS)).to_have_count(0)
    assert page.evaluate("() => window.__xss") is None, "a payload ran"


# ---- the server and the pages ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Notebook 7 on loopback with a token, serving a temporary folder that holds the notebook
    (``CELLS``), the sample model, and the payload models (one under a hostile file name).

    User settings (autosave off), workspaces and checkpoints go to a second temporary folder."""
    root = tmp_path_factory.mktemp("notebook7-root")
    work = tmp_path_factory.mktemp("notebook7")
    wb.samples.save(SAMPLE, root)
    for name in (HOSTILE, HOSTILE_FILE):
        onnx.save(hostile_model(), root / name)
    onnx.save(runnable_model(), root / RUNNABLE)
    onnx.save(mlp(False), root / DIFF_A)
    onnx.save(mlp(True), root / DIFF_B)
    # The kernelspec in the metadata starts the kernel at once: Notebook 7 asks which kernel to
    # start (a dialog) only for a notebook without one. `notebook_tab` checks no dialog is open.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS],
                                        metadata={"kernelspec": KERNELSPEC})
    nbformat.write(notebook, root / NOTEBOOK)
    # window.jupyterapp: the fixture waits on it for the kernel, never to drive the notebook
    with _running_lab(root, work, "--JupyterNotebookApp.expose_app_in_browser=True", app="notebook") as server:
        yield server


@pytest.fixture(scope="module")
def module_notebook_tab(browser: Browser, server: LabServer) -> Iterator[NotebookTab]:
    """The notebook open in Notebook 7, its kernel answering, its first cell (``m``) run."""
    errors: list[str] = []
    with _new_page(browser, errors, VIEWPORT) as page:
        page.goto(server.url(f"notebooks/{NOTEBOOK}"), timeout=PAGE_LOAD_TIMEOUT_MS)
        tab = NotebookTab(page, errors)
        expect(tab.cells).to_have_count(len(CELLS), timeout=PAGE_LOAD_TIMEOUT_MS)
        # The notebook's kernel is up and its websocket open (window.jupyterapp: see `server`).
        page.wait_for_function(
            """() => {
              const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
              const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
              return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
            }""",
            timeout=KERNEL_TIMEOUT_MS,
        )
        expect(page.locator(".jp-Dialog")).to_have_count(0)  # no kernel selection dialog
        tab.run(OPEN_CELL)
        yield tab


@pytest.fixture
def notebook_tab(module_notebook_tab: NotebookTab) -> NotebookTab:
    """The module's notebook tab, its error list emptied for this test."""
    module_notebook_tab.errors.clear()
    return module_notebook_tab


@pytest.fixture
def tree_page(browser: Browser, server: LabServer, page_errors: list[str]) -> Iterator[Page]:
    """A page on Notebook 7's file tree (``/tree``); its errors, and those of pages it opens, go
    to ``page_errors``."""
    with _new_page(browser, page_errors, VIEWPORT) as page:
        page.goto(server.url("tree"), timeout=PAGE_LOAD_TIMEOUT_MS)
        yield page


def open_from_tree(tree: Page, name: str, errors: list[str]) -> Page:
    """Double-clicks ``name`` in the file tree; returns the browser tab Notebook 7 opens for it
    (``/edit/<path>``), its errors going to ``errors`` too."""
    entry = tree.locator(".jp-DirListing-item").filter(has=tree.get_by_text(name, exact=True))
    expect(entry).to_be_visible(timeout=PAGE_LOAD_TIMEOUT_MS)
    expect(entry).to_have_attribute("data-file-type", "onnx")  # our file type, registered in Notebook 7
    with tree.context.expect_page() as opened:
        entry.dblclick()
    page = opened.value
    page.on("console", lambda message: errors.append(f"console error: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error.message}"))
    page.wait_for_load_state()
    return page


# ---- the notebook's surfaces --------------------------------------------------------------------


def test_model_output(notebook_tab: NotebookTab) -> None:
    """``m`` displayed: our MIME renderer (not the HTML fallback) draws the summary card and the
    graph view, which reaches ``ready``."""
    notebook_tab.run(OUTPUT_CELL)
    output = notebook_tab.output(OUTPUT_CELL)
    # The output is our renderer's widget (the HTML fallback would be .jp-RenderedHTMLCommon).
    expect(output.locator(".jp-OutputArea-output")).to_have_class(re.compile(r"(^|\s)jp-OnnxWorkbench-renderer(\s|$)"))
    expect(output.locator(".jp-OnnxWorkbench-summary .jp-OnnxWorkbench-title")).to_have_text(SAMPLE)
    viewer = notebook_tab.viewer(OUTPUT_CELL)
    expect(viewer.node(NODE)).to_be_visible()
    notebook_tab.cells.nth(OUTPUT_CELL).scroll_into_view_if_needed()
    notebook_tab.screenshot("notebook7-output.png")
    notebook_tab.assert_no_errors()


def test_graph_view_selection_reaches_python(notebook_tab: NotebookTab) -> None:
    """``m.view()`` (the anywidget) draws; a click on a node selects it in the page, and a later
    cell reading ``v.selected`` in Python shows that node (before the click: nothing)."""
    notebook_tab.run(VIEW_CELL)
    viewer = notebook_tab.viewer(VIEW_CELL)
    notebook_tab.run(SELECTED_CELL)
    selected = notebook_tab.output(SELECTED_CELL).locator(".jp-OutputArea-output")
    expect(selected).to_have_text("[]")

    viewer.node(NODE).click()
    expect(viewer.node(NODE)).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", NODE)
    notebook_tab.run(SELECTED_CELL)
    expect(selected).to_have_text(repr([NODE]))
    notebook_tab.cells.nth(VIEW_CELL).scroll_into_view_if_needed()
    notebook_tab.screenshot("notebook7-widget.png")
    notebook_tab.assert_no_errors()


def test_debugger_steps(notebook_tab: NotebookTab) -> None:
    """``wb.debug(m)`` displayed: its graph draws, and Step runs the first node in the kernel
    (the status line counts it, the view highlights it, the inspector names it)."""
    notebook_tab.run(DEBUG_CELL)
    root = notebook_tab.output(DEBUG_CELL).locator(".jp-OnnxWorkbench-debugger")
    status = root.locator(".jp-OnnxWorkbench-debuggerStatus")
    expect(status).to_contain_text(f"0 / {len(STEPS)}")
    viewer = notebook_tab.viewer(DEBUG_CELL)
    root.locator("button.widget-button").filter(has_text=re.compile(r"^\s*Step\s*$")).click()
    expect(status).to_contain_text(f"1 / {len(STEPS)}")
    expect(viewer.node(STEPS[0])).to_have_class(viewer.state("highlighted"))
    expect(root.locator(".jp-OnnxWorkbench-inspector")).to_contain_text(STEPS[0])
    notebook_tab.cells.nth(DEBUG_CELL).scroll_into_view_if_needed()
    notebook_tab.screenshot("notebook7-debugger.png")
    notebook_tab.assert_no_errors()


def test_file_viewer_from_tree(tree_page: Page, page_errors: list[str]) -> None:
    """Our plugins are active on Notebook 7's file tree, and a double click on the model there opens
    a tab (``/edit/<path>``) with our viewer: the graph reaches ``ready``, and the Properties button
    opens the summary card."""
    tree_page.wait_for_function("() => window.jupyterapp", timeout=PAGE_LOAD_TIMEOUT_MS)
    tree_page.evaluate("() => window.jupyterapp.started")
    for plugin in PLUGINS:  # Notebook 7's shell lacks some of JupyterLab's tokens: ours require none
        assert tree_page.evaluate("id => window.jupyterapp.isPluginActivated(id)", plugin), f"{plugin} is not active"
    page = open_from_tree(tree_page, MODEL_FILE, page_errors)
    assert page.url.split("?")[0].endswith(f"/edit/{MODEL_FILE}"), page.url
    content = page.locator(".jp-OnnxWorkbench-fileViewer")
    viewer = Viewer(content.locator(VIEWER)).wait_ready()
    expect(viewer.node(NODE)).to_be_visible()
    expect(page.locator("#jp-title h1")).to_have_text(MODEL_FILE)
    panel = content.locator(".jp-OnnxWorkbench-properties")
    expect(panel).to_be_hidden()
    page.locator(".jp-Toolbar .jp-OnnxWorkbench-propertiesButton").click()
    expect(panel.locator(".jp-OnnxWorkbench-summary .jp-OnnxWorkbench-title")).to_have_text(SAMPLE)
    save_screenshot("notebook7-file-viewer.png", page)
    assert_no_errors(page_errors)


def test_diff_from_tree(tree_page: Page, page_errors: list[str]) -> None:
    """Two models ticked in Notebook 7's file tree and "Diff ONNX models" from the context menu:
    the tree page keeps its main area to itself, so the diff opens as a tab beside Files and
    Running, its view coloured by status."""
    entries = [tree_page.locator(".jp-DirListing-item").filter(has=tree_page.get_by_text(name, exact=True))
               for name in (DIFF_A, DIFF_B)]
    for entry in entries:
        expect(entry).to_be_visible(timeout=PAGE_LOAD_TIMEOUT_MS)
        entry.locator("input[type=checkbox]").check()  # a click on the name would open the file
    entries[1].click(button="right")
    menu = tree_page.locator(".lm-Menu").last
    menu.locator(".lm-Menu-item:not(.lm-mod-hidden)").filter(has_text="Diff ONNX models").click()
    tab = tree_page.locator(".lm-TabBar-tab").filter(has_text=f"{DIFF_A} ↔ {DIFF_B}")
    expect(tab).to_have_class(re.compile(r"\blm-mod-current\b"))
    viewer = Viewer(tree_page.locator(f".lm-Widget:not(.lm-mod-hidden) > .jp-MainAreaWidget {VIEWER}")).wait_ready()
    expect(viewer.node(INSERTED)).to_have_class(status_class("added"))
    expect(viewer.node(CHANGED_ATTRIBUTE)).to_have_class(status_class("changed"))
    save_screenshot("notebook7-diff.png", tree_page)
    assert_no_errors(page_errors)


# ---- hostile strings ----------------------------------------------------------------------------


def test_hostile_strings_in_output(notebook_tab: NotebookTab) -> None:
    """The hostile model's output: the summary card and the view show the payloads as text."""
    notebook_tab.run(XSS_OUTPUT_CELL)
    output = notebook_tab.output(XSS_OUTPUT_CELL)
    assert_card(output.locator(".jp-OnnxWorkbench-summary"))
    viewer = notebook_tab.viewer(XSS_OUTPUT_CELL)
    assert_hostile_view(viewer)
    assert_inert(notebook_tab.page, output)
    notebook_tab.cells.nth(XSS_OUTPUT_CELL).scroll_into_view_if_needed()
    notebook_tab.screenshot("notebook7-xss-output.png")
    notebook_tab.assert_no_errors()


def test_hostile_strings_in_graph_widget(notebook_tab: NotebookTab) -> None:
    """``m.view()`` of the runnable payload model (details fetched from the kernel) and its
    overlay legend show the payloads as text."""
    notebook_tab.run(XSS_VIEW_CELL)
    viewer = notebook_tab.viewer(XSS_VIEW_CELL)
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(IMG)
    expect(viewer.node(MATMUL)).to_have_class(viewer.state("overlaid"))
    assert_runnable_view(viewer)
    assert_inert(notebook_tab.page, notebook_tab.output(XSS_VIEW_CELL))
    notebook_tab.assert_no_errors()


def test_hostile_file_name_in_file_viewer(tree_page: Page, page_errors: list[str]) -> None:
    """The hostile model under a hostile file name, opened from the file tree: the page title and
    the view show the payloads as text."""
    page = open_from_tree(tree_page, HOSTILE_FILE, page_errors)
    content = page.locator(".jp-OnnxWorkbench-fileViewer")
    viewer = Viewer(content.locator(VIEWER)).wait_ready()
    expect(page.locator("#jp-title h1")).to_have_text(HOSTILE_FILE)
    assert_hostile_view(viewer)
    show_details(viewer, MATMUL)
    save_screenshot("notebook7-xss-file-viewer.png", page)
    assert_inert(page, content)
    assert_inert(tree_page, tree_page.locator(".jp-DirListing-content"))
    assert_no_errors(page_errors)
