"""The graph view widget (``m.view()``) in marimo, which runs anywidgets with its own front end (no
Jupyter, no extension of ours): it draws, a group opened and a node clicked in the page reach Python
(a dependent cell shows them), a selection made in Python reaches the page, and a model whose
strings are HTML payloads shows them as text. A model as a cell's last expression draws its
interactive view from its standalone HTML form (in an iframe marimo makes for it).

One ``marimo run`` server (loopback, token) serves a notebook written to a temporary folder. The
tiny_bert view there gets a lean payload (the root group only), so every group it opens and every
node's details come from the kernel by the widget's custom messages. marimo draws each anywidget
in an open shadow root: Playwright's CSS locators pierce it; ``page.evaluate`` does not.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING

import onnx
import pytest
from helpers import SCREENSHOT_DIR, free_port, wait_until_up
from playwright.sync_api import expect

from tests.ui.conftest import ITEM, SERVER_START_TIMEOUT_S, VIEWER, Viewer, _css_string, _new_page, _stop
from tests.ui.test_graph_xss import IMG, MATMUL, PAYLOAD_ELEMENTS, RELU, assert_runnable_view, runnable_model

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

VIEWPORT = {"width": 1400, "height": 1000}
PAGE_LOAD_TIMEOUT_MS = 90_000
# The first paint waits for the kernel to run the cells: importing workbench and opening the model.
FIRST_PAINT_TIMEOUT_MS = 90_000

GROUP = "g:embeddings"  # a group of tiny_bert's root, closed at first: its content comes from the kernel
NODE = "node_Gather_1"  # a node in GROUP
PYTHON_NODE = "node_Add_78"  # selected from Python: in g:pooler/dense, in g:pooler, both sent by the kernel
XSS_MODEL = "xss_run.onnx"
SAMPLE = "tiny_cnn"  # displayed as a cell's last expression

NOTEBOOK = '''
import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import json

    import marimo as mo

    import workbench as wb
    return json, mo, wb


@app.cell
def _(mo, wb):
    m = wb.samples.open("tiny_bert")
    widget = m.view()
    # A lean payload, the root group alone, nothing open: the view asks the kernel for the rest.
    widget.payload = m.view_index.payload(budget=1_000, expanded=[])
    widget.expanded = []
    view = mo.ui.anywidget(widget)
    view
    return view, widget


@app.cell
def _(json, mo, view):
    mo.plain_text("python sees " + json.dumps({{"selected": view.value["selected"],
                                                "expanded": sorted(view.value["expanded"])}}))
    return


@app.cell
def _(mo):
    select_button = mo.ui.run_button(label="select from Python")
    select_button
    return (select_button,)


@app.cell
def _(select_button, widget):
    if select_button.value:
        widget.select({python_node!r})
    return


@app.cell
def _(wb):
    # The bare widget: marimo wraps anywidgets itself.
    xss = wb.open({xss_path!r}).view()
    xss.set_overlay({{{matmul!r}: 1.0, {relu!r}: 2.0}}, label={img!r})
    xss
    return


@app.cell
def _(wb):
    # A model as the cell's last expression: marimo picks how to show it.
    model = wb.samples.open({sample!r})
    model
    return


if __name__ == "__main__":
    app.run()
'''


class MarimoPage:
    """The marimo app page, with the errors it reported."""

    def __init__(self, page: Page, errors: list[str]) -> None:
        self.page = page
        self.errors = errors

    def viewer(self, item_id: str) -> Viewer:
        """The graph viewer on the page that draws the item ``item_id``, once ready."""
        has_item = self.page.locator(f"{ITEM}[data-id={_css_string(item_id)}]")
        return Viewer(self.page.locator(VIEWER).filter(has=has_item)).wait_ready(FIRST_PAINT_TIMEOUT_MS)

    @property
    def python_state(self) -> Locator:
        """The output of the cell that prints ``view.value``'s selection and open groups."""
        return self.page.locator("pre", has_text="python sees")

    def screenshot(self, name: str, target: Page | Locator) -> None:
        """Saves a screenshot of ``target`` as ``<SCREENSHOT_DIR>/<name>``."""
        path = SCREENSHOT_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(path))

    def assert_no_errors(self) -> None:
        """Fails if the page reported errors (console errors, uncaught exceptions)."""
        assert not self.errors, "the page reported errors:\n" + "\n".join(self.errors)


@pytest.fixture(scope="module")
def marimo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``marimo run`` of the test notebook on loopback with a token; yields the page's address.

    marimo's configuration, cache and state go to the temporary folder too."""
    work = tmp_path_factory.mktemp("marimo")
    onnx.save(runnable_model(), work / XSS_MODEL)
    notebook = work / "workbench_view.py"
    notebook.write_text(textwrap.dedent(NOTEBOOK).format(
        python_node=PYTHON_NODE, xss_path=str(work / XSS_MODEL), matmul=MATMUL, relu=RELU, img=IMG,
        sample=SAMPLE,
    ), encoding="utf-8")  # fmt: skip
    port, token = free_port(), secrets.token_hex(24)
    env = {**os.environ, **{key: str(work / key.lower()) for key in
                            ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME")}}
    cmd = [
        sys.executable, "-m", "marimo", "run", str(notebook),
        "--headless", "--host", "127.0.0.1", "--port", str(port), "--token-password", token,
        "--no-sandbox",
    ]  # fmt: skip
    log_path = work / "marimo.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work, env=env,
                                  start_new_session=True)
    try:
        wait_until_up(server, f"http://127.0.0.1:{port}/health", log_path, what="marimo",
                      timeout_s=SERVER_START_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}/?access_token={token}"
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def module_marimo_page(browser: Browser, marimo_url: str) -> Iterator[MarimoPage]:
    """One page on the marimo app for the module: each load would start a new session."""
    errors: list[str] = []
    with _new_page(browser, errors, VIEWPORT) as page:
        page.goto(marimo_url, timeout=PAGE_LOAD_TIMEOUT_MS)
        yield MarimoPage(page, errors)


@pytest.fixture
def marimo_page(module_marimo_page: MarimoPage) -> MarimoPage:
    """The module's page, its error list emptied for this test."""
    module_marimo_page.errors.clear()
    return module_marimo_page


def python_sees(selected: list[str], expanded: list[str]) -> str:
    """What the dependent cell prints for ``view.value``'s ``selected`` and ``expanded`` (sorted)."""
    return "python sees " + json.dumps({"selected": selected, "expanded": sorted(expanded)})


def test_clicks_reach_python(marimo_page: MarimoPage) -> None:
    """Opening a group (fetched from the kernel) and clicking a node in it (its details fetched
    from the kernel) re-runs the cell that reads ``view.value``: it shows both."""
    viewer = marimo_page.viewer(GROUP)
    state = marimo_page.python_state
    expect(state).to_have_text(python_sees([], []))
    group = viewer.group(GROUP)
    expect(group).not_to_have_class(viewer.state("frame"))
    expect(viewer.node(NODE)).to_have_count(0)  # not in the lean payload

    with viewer.relayout():
        viewer.click(group)
    expect(group).to_have_class(viewer.state("frame"))
    expect(state).to_have_text(python_sees([], [GROUP]))

    viewer.click(viewer.node(NODE))
    expect(viewer.node(NODE)).to_have_class(viewer.state("selected"))
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", NODE)
    expect(viewer.part("detailsOp")).to_contain_text("Gather")
    expect(state).to_have_text(python_sees([NODE], [GROUP]))
    marimo_page.screenshot("marimo-graph-widget.png", marimo_page.page)
    marimo_page.assert_no_errors()


def test_python_selects_in_view(marimo_page: MarimoPage) -> None:
    """``widget.select(...)`` run by a button's cell selects the node in the view: the groups
    around it open (fetched from the kernel) and the details show it."""
    viewer = marimo_page.viewer(GROUP)
    before = json.loads(marimo_page.python_state.inner_text().removeprefix("python sees "))["expanded"]
    marimo_page.page.get_by_role("button", name="select from Python").click()
    expect(viewer.node(PYTHON_NODE)).to_have_class(viewer.state("selected"))
    for group in ("g:pooler", "g:pooler/dense"):
        expect(viewer.group(group)).to_have_class(viewer.state("frame"))
    expect(viewer.part("details")).to_have_attribute("data-node", PYTHON_NODE)
    expect(viewer.part("detailsOp")).to_contain_text("Add")
    expect(viewer.node(NODE)).not_to_have_class(viewer.state("selected"))
    # The view reports the groups it opened: Python's `expanded` holds them.
    expanded = sorted({*before, "g:pooler", "g:pooler/dense"})
    expect(marimo_page.python_state).to_have_text(python_sees([PYTHON_NODE], expanded))
    marimo_page.assert_no_errors()


def test_hostile_strings_in_graph_widget(marimo_page: MarimoPage) -> None:
    """The view of a model whose strings are HTML payloads (the bare widget, which marimo wraps
    itself) shows them as text, its overlay legend too; no payload becomes an element or runs."""
    viewer = marimo_page.viewer(f"in:{IMG}")
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(IMG)
    expect(viewer.node(MATMUL)).to_have_class(viewer.state("overlaid"))
    assert_runnable_view(viewer)
    widget = marimo_page.page.locator(".jp-OnnxWorkbench-widget").filter(has=viewer.root)
    expect(widget).to_have_count(1)
    expect(widget.locator(PAYLOAD_ELEMENTS)).to_have_count(0)
    assert marimo_page.page.evaluate("() => window.__xss") is None, "a payload ran"
    viewer.root.scroll_into_view_if_needed()
    marimo_page.screenshot("marimo-xss.png", viewer.root)
    marimo_page.assert_no_errors()


def test_model_output(marimo_page: MarimoPage) -> None:
    """A model as a cell's last expression: marimo asks for ``_repr_html_`` (before
    ``_repr_mimebundle_``), which is the model output's standalone HTML form; marimo puts HTML
    that carries a script in an iframe, where the module draws the interactive view, no kernel
    needed: it reaches its first paint, shows the card and opens a group."""
    page = marimo_page.page
    frame = page.frame_locator(".output-area iframe").first
    viewer = Viewer(frame.locator(VIEWER)).wait_ready(FIRST_PAINT_TIMEOUT_MS)
    expect(frame.locator(".jp-OnnxWorkbench-summary .jp-OnnxWorkbench-title")).to_have_text(SAMPLE)
    group = viewer.group("g:stem")
    expect(group).to_have_class(viewer.state("frame"))  # open at first paint
    with viewer.relayout():
        viewer.click(viewer.frame_header("g:stem"))
    expect(group).not_to_have_class(viewer.state("frame"))
    page.locator(".output-area iframe").first.scroll_into_view_if_needed()
    marimo_page.screenshot("marimo-model-output.png", page.locator(".output-area iframe").first)
    marimo_page.assert_no_errors()
