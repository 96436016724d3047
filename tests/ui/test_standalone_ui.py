"""The standalone view in real Chromium: the ONE HTML file that ``to_html()`` writes (a model,
a comparison report, a profile, a diff) and a notebook exported by ``nbconvert --to html``,
each opened from disk (``file://``) with every other request refused.

Each test proves that the page needs nothing but itself: the view draws, groups expand, the
search finds, a click opens the details carried in the file, a table row selects its node, and
no request left the file. Hostile model strings (tests/ui/test_graph_xss.py) read back as text.
Screenshots go to build/screenshots/standalone-*.png.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import numpy as np
import pytest
from helpers import SCREENSHOT_DIR
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import expect

import workbench as wb
from tests.ui.conftest import REPO_ROOT, VIEWER, Viewer
from tests.ui.test_graph_xss import (
    MATMUL,
    PAYLOAD_ELEMENTS,
    RELU,
    SCRIPT,
    assert_card,
    assert_hostile_view,
    fact,
    hostile_model,
    runnable_model,
    show_details,
    title,
)
from workbench.graph import STANDALONE_MIME_TYPE

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request, Route

# How long the 10k-node view may take to draw on a loaded 2-core machine (the first layout).
BIG_READY_TIMEOUT_MS = 120_000
BIG_LAYERS = 300
GLIDE_MS = 500  # longer than the view's glide to a new place (~200 ms), before a screenshot
REPEAT = f"r:g:encoder/layer × {BIG_LAYERS}"
TABLE = ".jp-OnnxWorkbench-standaloneTable"
# What nbconvert's own "lab" template asks the network for (require.js and MathJax from cdnjs,
# the widget manager from unpkg): attempted, refused, and none of it ours.
NBCONVERT_TEMPLATE_HOSTS = ("https://cdnjs.cloudflare.com/", "https://unpkg.com/")
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
GRAPH_VIEW = "workbench.widgets._graph.GraphView"  # the _anywidget_id of GraphView's widget models
# PAYLOAD_ELEMENTS but the page's own scripts: the view's module and its data.
FOREIGN_ELEMENTS = PAYLOAD_ELEMENTS.replace(
    "script,", f"script:not([type='module']):not([type={json.dumps(STANDALONE_MIME_TYPE)}]),"
)
_DATA = re.compile(rf'<script type="{re.escape(STANDALONE_MIME_TYPE)}">([A-Za-z0-9+/=]+)</script>')


@dataclass
class Offline:
    """Every request a page attempted that was not for a local file (all refused)."""

    refused: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        """Fails if the page asked the network for anything."""
        assert not self.refused, f"the page asked the network for: {self.refused}"


@contextmanager
def offline(page: Page) -> Iterator[Offline]:
    """Refuses every request of ``page`` but ``file:`` ones and records each it refused, seen
    both by the route and by the page's request events (``data:``/``blob:`` URLs, which never
    leave the browser, are not requests to refuse)."""
    seen = Offline()

    def route(r: Route) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            r.abort()

    def on_request(request: Request) -> None:
        if not request.url.startswith(("file:", "data:", "blob:")) and request.url not in seen.refused:
            seen.refused.append(request.url)

    page.route("**/*", route)
    page.on("request", on_request)
    try:
        yield seen
    finally:
        page.remove_listener("request", on_request)
        page.unroute("**/*", route)


def open_file(page: Page, path: Path) -> float:
    """Loads ``path`` from disk; returns the seconds the load took (until the load event)."""
    start = time.monotonic()
    page.goto(path.as_uri(), wait_until="load", timeout=BIG_READY_TIMEOUT_MS)
    return time.monotonic() - start


def screenshot(page: Page, name: str) -> None:
    """Saves the whole page as ``build/screenshots/<name>``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / name))


def only_viewer(page: Page) -> Viewer:
    """The page's single graph viewer, once drawn."""
    expect(page.locator(VIEWER)).to_have_count(1)
    return Viewer(page.locator(VIEWER)).wait_ready()


def assert_clean(page: Page, errors: list[str], *, allow: tuple[str, ...] = ()) -> None:
    """No script error (but those containing an ``allow`` text), no standalone block that could
    not be drawn, and no payload that ran."""
    unexpected = [e for e in errors if not any(text in e for text in allow)]
    assert not unexpected, "the page reported errors:\n" + "\n".join(unexpected)
    expect(page.locator(".jp-OnnxWorkbench-standaloneError")).to_have_count(0)
    assert page.evaluate("() => window.__xss") is None, "a payload ran"


def table_rows(page: Page) -> Locator:
    """The rows of the table beside the graph that select a node."""
    return page.locator(f"{TABLE} tbody tr[data-node]")


def assert_row_selects(viewer: Viewer, row: Locator, node_id: str) -> None:
    """Clicking ``row`` selects ``node_id`` in the graph (drawn, selected, its details open)
    and marks the row picked."""
    assert row.get_attribute("data-node") == node_id
    row.click()
    expect(row).to_have_class(viewer.state("picked"))
    expect(viewer.node(node_id)).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", node_id)
    expect(viewer.part("details")).to_be_visible()


def formatted(value: str | float | bool | None) -> str:
    """A table cell as the page writes it: nothing for null, fractions to 4 significant digits."""
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}" if abs(value) >= 1e-4 else f"{value:.3e}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def blocks(page_html: str) -> list[dict]:
    """The standalone data of every block in ``page_html``, decoded."""
    return [json.loads(gzip.decompress(base64.b64decode(found))) for found in _DATA.findall(page_html)]


# ---- a model of 10k nodes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[wb.Model, Path]:
    """tiny_bert with 300 encoder layers (10,211 nodes) and its ``to_html()`` file, written once."""
    model = wb.open(wb.samples.proto("tiny_bert", layers=BIG_LAYERS))
    path = model.to_html(tmp_path_factory.mktemp("standalone") / "bert300.html")
    return model, path


def test_model_of_10k_nodes(page: Page, page_errors: list[str], big_model: tuple[wb.Model, Path]) -> None:
    """``m.to_html()`` of a 10k-node transformer opens offline: the view draws, the folded
    ``layer × 300`` repeat opens down to one layer's nodes, the search finds a node anywhere in
    the model and a click shows that node's details, all from the file."""
    model, path = big_model
    assert len(model.nodes) > 10_000
    index = model.view_index
    splits = [item["group"] for item in index.group(REPEAT)["items"] if item["kind"] == "group"]
    layer = f"g:encoder/layer.{BIG_LAYERS - 50}"
    split = next(g for g in splits if any(item["id"] == layer for item in index.group(g)["items"]))
    attention = f"{layer}/attention"
    reshape = next(item["node"] for item in index.group(attention)["items"] if item["kind"] == "node")
    erf = model.nodes.query("op_type == 'Erf'").index.tolist()

    with offline(page) as network:
        loaded_s = open_file(page, path)
        start = time.monotonic()
        viewer = Viewer(page.locator(VIEWER)).wait_ready(BIG_READY_TIMEOUT_MS)
        ready_s = loaded_s + time.monotonic() - start
        first_paint_ms = viewer.root.get_attribute("data-first-paint-ms")
        print(f"\nstandalone 10k model: {len(model.nodes):,} nodes, file {path.stat().st_size / 2**20:.2f} MiB, "
              f"loaded in {loaded_s:.1f} s, ready {ready_s:.1f} s after navigation "
              f"(first paint {first_paint_ms} ms after the view was created)")
        expect(page.locator(".jp-OnnxWorkbench-summary .jp-OnnxWorkbench-title")).to_have_text("tiny_bert")
        expect(viewer.group("g:encoder")).to_have_class(viewer.state("frame"))

        repeat = viewer.group(REPEAT)
        expect(repeat).not_to_have_class(viewer.state("frame"))
        expect(repeat.locator(":scope > .jp-OnnxWorkbench-label")).to_have_text(f"▸ layer × {BIG_LAYERS}")
        with viewer.relayout():
            viewer.click(repeat)
        expect(repeat).to_have_class(viewer.state("frame"))
        for group_id in splits:
            expect(viewer.group(group_id)).to_have_count(1)
        with viewer.relayout():
            viewer.click(viewer.group(split))
        expect(viewer.group(layer)).to_have_count(1)
        with viewer.relayout():
            viewer.click(viewer.group(layer))
        for part in ("attention", "intermediate", "output"):
            expect(viewer.group(f"{layer}/{part}")).to_have_count(1)
        with viewer.relayout():
            viewer.click(viewer.group(attention))
        expect(viewer.group(attention)).to_have_class(viewer.state("frame"))
        expect(viewer.node(reshape)).to_have_count(1)

        viewer.search("Erf")
        expect(viewer.part("counter")).to_have_text(f"{len(erf):,} hits")
        with viewer.relayout():
            viewer.part("search").press("Enter")
        expect(viewer.part("counter")).to_have_text(f"1 / {len(erf):,}")
        expect(viewer.node(erf[0])).to_have_class(viewer.state("currentHit"))

        details = show_details(viewer, reshape)
        expect(fact(details, "name")).to_have_text(index.details(reshape)["name"])
        expect(viewer.part("detailsOp")).to_contain_text("Reshape")
        expect(viewer.node(reshape)).to_have_class(viewer.state("selected"))
        viewer.double_click(viewer.frame_header(attention))  # centres the view on the layer's attention
        expect(viewer.node(reshape)).to_be_in_viewport()
        page.wait_for_timeout(GLIDE_MS)
        screenshot(page, "standalone-model-10k.png")
    network.assert_none()
    assert_clean(page, page_errors)


# ---- a comparison report, a profile and a diff: the table beside the graph ------------------------


def _broken_cnn() -> wb.Model:
    """tiny_cnn with one Conv weight scaled by 1.5: the planted fault."""
    proto = wb.samples.proto("tiny_cnn")
    weight = next(t for t in proto.graph.initializer if len(t.dims) == 4)
    values = np.frombuffer(weight.raw_data, dtype=np.float32)
    weight.raw_data = (values * np.float32(1.5)).astype(np.float32).tobytes()
    return wb.open(proto)


def test_report_with_planted_fault(page: Page, page_errors: list[str], tmp_path: Path) -> None:
    """``report.to_html()``: the overlay legend, the root cause selected with its details open,
    the report's table beside the graph, and a click on another row selects that row's node."""
    model = wb.samples.open("tiny_cnn")
    report = wb.compare(model, wb.runtime.random_inputs(model), candidate=_broken_cnn())
    assert report.root_cause is not None
    cause = report.root_cause.node
    path = report.to_html(tmp_path / "report.html")
    print(f"\nstandalone report: file {path.stat().st_size / 2**20:.2f} MiB")

    with offline(page) as network:
        open_file(page, path)
        viewer = only_viewer(page)
        legend = viewer.part("legend")
        expect(legend).to_be_visible()
        expect(legend.locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("max_abs")
        expect(viewer.node(cause)).to_have_class(viewer.state("selected"))
        expect(viewer.node(cause)).to_have_class(viewer.state("overlaid"))
        expect(viewer.part("details")).to_have_attribute("data-node", cause)

        table = page.locator(TABLE)
        expect(table).to_be_visible()
        expect(table.locator(".jp-OnnxWorkbench-title")).to_have_text(f"{report.candidate} vs {report.reference}")
        expect(table.locator("thead th")).to_have_text([str(c) for c in report.table.columns])
        expect(table.locator("tbody tr")).to_have_count(len(report.table))
        graph_box = viewer.root.locator("xpath=ancestor::*[contains(@class, 'jp-OnnxWorkbench-graphBox')][1]")
        graph, beside = graph_box.bounding_box(), table.bounding_box()
        assert graph and beside and beside["x"] >= graph["x"] + graph["width"] - 1, "the table sits beside the graph"
        screenshot(page, "standalone-report.png")

        other = next(n for n in report.table.node if n != cause and viewer.node(n).count())
        assert_row_selects(viewer, table_rows(page).filter(has=page.locator(f"td:text-is('{other}')")).first, other)
        expect(viewer.node(cause)).not_to_have_class(viewer.state("selected"))
    network.assert_none()
    assert_clean(page, page_errors)


def test_profile_table_selects(page: Page, page_errors: list[str], tmp_path: Path) -> None:
    """``profile.to_html()``: the latency overlay, the kernels slowest first beside the graph,
    and a click on a row selects the authored node that kernel ran."""
    model = wb.samples.open("tiny_cnn")
    profile = wb.profile(model, runs=2, warmup=1)
    path = profile.to_html(tmp_path / "profile.html")
    (data,) = blocks(path.read_text(encoding="utf-8"))
    table = data["table"]
    rows = [row for row in table["rows"] if row[table["node"]]]
    print(f"\nstandalone profile: file {path.stat().st_size / 2**20:.2f} MiB, {len(table['rows'])} rows")

    with offline(page) as network:
        open_file(page, path)
        viewer = only_viewer(page)
        expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("latency (µs)")
        expect(page.locator(f"{TABLE} thead th")).to_have_text(table["columns"])
        expect(page.locator(f"{TABLE} tbody tr")).to_have_count(len(table["rows"]))
        expect(table_rows(page)).to_have_count(len(rows))
        screenshot(page, "standalone-profile.png")
        for position in (0, len(rows) - 1):
            node_id = rows[position][table["node"]]
            assert_row_selects(viewer, table_rows(page).nth(position), node_id)
            expect(viewer.node(node_id)).to_have_class(viewer.state("overlaid"))
    network.assert_none()
    assert_clean(page, page_errors)


def test_diff_table_selects(page: Page, page_errors: list[str], tmp_path: Path) -> None:
    """``diff.to_html()``: the union view coloured by status with its legend, the changed Relu
    listed beside the graph, and a click on its row selects it."""
    a = wb.samples.open("tiny_cnn")
    b_proto = wb.samples.proto("tiny_cnn")
    relu = next(n for n in b_proto.graph.node if n.op_type == "Relu")
    relu.op_type = "Sigmoid"
    diff = wb.diff(a, wb.open(b_proto))
    path = diff.to_html(tmp_path / "diff.html")
    (data,) = blocks(path.read_text(encoding="utf-8"))
    table = data["table"]
    print(f"\nstandalone diff: file {path.stat().st_size / 2**20:.2f} MiB, {len(table['rows'])} rows")
    assert len(table["rows"]) == 1, "the Sigmoid, and nothing else, differs"
    (row_values,) = table["rows"]
    node_id = row_values[table["node"]]
    # wb.diff calls an op type replaced under the same name "fused" (docs/diff.md: a node of a
    # that a node of b replaced); the page shows whatever status the table holds.
    status = row_values[table["columns"].index("status")]

    with offline(page) as network:
        open_file(page, path)
        viewer = only_viewer(page)
        legend = viewer.part("legend")
        expect(legend).to_be_visible()
        expect(legend.locator(f".jp-OnnxWorkbench-diff-{status} .jp-OnnxWorkbench-legendTotal")).to_have_text("1")
        expect(page.locator(f"{TABLE} tbody tr")).to_have_count(1)
        row = table_rows(page).first
        expect(row.locator("td")).to_have_text([formatted(v) for v in row_values])
        expect(row.locator("td:text-is('Sigmoid')")).to_have_count(1)
        expect(viewer.node(node_id)).to_have_class(viewer.state(f"diff-{status}"))
        screenshot(page, "standalone-diff.png")
        assert_row_selects(viewer, row, node_id)
        expect(viewer.part("detailsOp").first).to_contain_text("Sigmoid")
    network.assert_none()
    assert_clean(page, page_errors)


# ---- an exported notebook ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed_tour(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """notebooks/00-tour.ipynb, copied to a temporary folder and executed there with nbclient
    (which saves the widgets' state in the notebook, as ``nbconvert --execute`` does)."""
    folder = tmp_path_factory.mktemp("tour")
    shutil.copy(REPO_ROOT / "notebooks/00-tour.ipynb", folder)
    notebook = nbformat.read(folder / "00-tour.ipynb", as_version=4)
    start = time.monotonic()
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    print(f"\nthe tour executed in {time.monotonic() - start:.1f} s")
    return notebook


def _export(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """``jupyter nbconvert --to html`` of ``notebook`` (HTMLExporter, its default template) to ``path``."""
    body, _ = HTMLExporter().from_notebook_node(notebook)
    path.write_text(body, encoding="utf-8")
    return path


def _outputs_with(notebook: nbformat.NotebookNode, mime: str) -> list[int]:
    """The indices of the code cells with an output holding ``mime``."""
    return [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            and any(mime in output.get("data", {}) for output in cell.outputs)]


def _saved_graph_views(notebook: nbformat.NotebookNode) -> list[dict]:
    """The saved state of every ``GraphView`` widget of ``notebook`` (none when it saved no widget state)."""
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [model["state"] for model in state.get("state", {}).values()
            if model.get("state", {}).get("_anywidget_id") == GRAPH_VIEW]


def _assert_exported_views(page: Page, count: int, views: list[dict]) -> None:
    """The page holds ``count`` graph views and each draws; the first (the tour's tiny_bert)
    expands its folded layers; each GraphView of ``views`` (saved states) shows its overlay's
    legend and its selected node."""
    viewers = page.locator(VIEWER)
    expect(viewers).to_have_count(count)
    for position in range(count):
        Viewer(viewers.nth(position)).wait_ready()
    for state in views:
        shown = viewers
        if state.get("overlay"):
            label = page.locator(".jp-OnnxWorkbench-legendLabel").filter(has_text=state["overlay"]["label"])
            shown = viewers.filter(has=label)
            expect(shown).to_have_count(1)
        for node_id in state.get("selected", [])[:1]:
            expect(Viewer(shown).node(node_id)).to_have_class(Viewer(shown).state("selected"))
    viewer = Viewer(viewers.first)
    repeat = viewer.group("r:g:encoder/layer × 2")
    expect(repeat).not_to_have_class(viewer.state("frame"))
    with viewer.relayout():
        viewer.click(repeat)
    expect(repeat).to_have_class(viewer.state("frame"))
    expect(viewer.group("g:encoder/layer.0")).to_have_count(1)
    with viewer.relayout():
        viewer.click(viewer.group("g:encoder/layer.0"))
    expect(viewer.group("g:encoder/layer.0/attention")).to_have_count(1)


def test_nbconvert_html_keeps_interactive_views(page: Page, page_errors: list[str], tmp_path: Path,
                                                executed_tour: nbformat.NotebookNode) -> None:
    """The executed tour exported to HTML and opened offline: every Model output and every
    GraphView draws, and a view expands a group. Exported twice: with the widget state nbclient
    saves (nbconvert then writes each widget output as a widget-view script, dropping its
    ``text/html``: the module inlined by the Model outputs draws the GraphViews from their saved
    state) and without it, as JupyterLab saves by default (nbconvert keeps each GraphView's
    ``text/html``, the standalone block)."""
    models = _outputs_with(executed_tour, "application/vnd.onnx-workbench.graph+json")
    html_widgets = set(_outputs_with(executed_tour, "text/html"))
    graph_widgets = [i for i in _outputs_with(executed_tour, WIDGET_VIEW_MIME) if i in html_widgets]
    other_widgets = [i for i in _outputs_with(executed_tour, WIDGET_VIEW_MIME) if i not in html_widgets]
    saved = _saved_graph_views(executed_tour)
    assert len(models) >= 2 and len(graph_widgets) >= 2, "the tour shows models and GraphViews"
    assert len(saved) >= len(graph_widgets), "nbclient saved the widgets' state"
    drawn = len(models) + len(graph_widgets)
    # nbconvert's template scripts (require.js, the widget manager) fail offline; ours must not.
    template_errors = ("require", "cdnjs", "unpkg", "net::ERR_FAILED", "Failed to load resource")

    with_state = _export(executed_tour, tmp_path / "tour.html")
    assert len(blocks(with_state.read_text(encoding="utf-8"))) == len(models)
    with offline(page) as network:
        start = time.monotonic()
        open_file(page, with_state)
        _assert_exported_views(page, drawn, [state for state in saved if state.get("overlay")])
        left = page.locator(f"script[type={json.dumps(WIDGET_VIEW_MIME)}]")
        expect(left).to_have_count(len(other_widgets))  # the debugger: no GraphView, nothing draws it
        print(f"\nnbconvert (widget state saved): {with_state.stat().st_size / 2**20:.2f} MiB, {drawn} views "
              f"({len(models)} models, {len(graph_widgets)} GraphViews from their state) ready and expanded in "
              f"{time.monotonic() - start:.1f} s; {len(other_widgets)} other widget output(s) not drawn")
        page.locator(VIEWER).nth(1).scroll_into_view_if_needed()
        screenshot(page, "standalone-nbconvert.png")
    print(f"refused (nbconvert's template): {network.refused}")
    ours = [url for url in network.refused if not url.startswith(NBCONVERT_TEMPLATE_HOSTS)]
    assert not ours, f"the views asked the network for: {ours}"
    assert_clean(page, page_errors, allow=template_errors)

    page_errors.clear()
    stateless = nbformat.from_dict(json.loads(json.dumps(executed_tour)))
    stateless.metadata.pop("widgets", None)
    without_state = _export(stateless, tmp_path / "tour-stateless.html")
    assert len(blocks(without_state.read_text(encoding="utf-8"))) == drawn
    with offline(page) as network:
        open_file(page, without_state)
        _assert_exported_views(page, drawn, [state for state in saved if state.get("overlay")])
        print(f"nbconvert (no widget state): {without_state.stat().st_size / 2**20:.2f} MiB, {drawn} views "
              "drawn from their text/html")
    ours = [url for url in network.refused if not url.startswith(NBCONVERT_TEMPLATE_HOSTS)]
    assert not ours, f"the views asked the network for: {ours}"
    assert_clean(page, page_errors, allow=template_errors)


# ---- hostile strings ------------------------------------------------------------------------------


def test_hostile_strings_stay_text(page: Page, page_errors: list[str], tmp_path: Path) -> None:
    """The XSS corpus of tests/ui/test_graph_xss.py in standalone files: the hostile model's card,
    group titles, labels, tooltips and details, and a profile's table of hostile node names, all
    read back as literal text; no payload became an element and none ran."""
    hostile = wb.open(hostile_model())
    path = hostile.to_html(tmp_path / "hostile.html")
    with offline(page) as network:
        open_file(page, path)
        viewer = only_viewer(page)
        assert page.title() == SCRIPT
        assert_card(page.locator(".jp-OnnxWorkbench-summary"))
        assert_hostile_view(viewer)
        expect(page.locator(FOREIGN_ELEMENTS)).to_have_count(0)
    network.assert_none()
    assert_clean(page, page_errors)

    runnable = wb.open(runnable_model())
    profile_path = wb.profile(runnable, runs=2, warmup=1).to_html(tmp_path / "hostile-profile.html")
    with offline(page) as network:
        open_file(page, profile_path)
        viewer = only_viewer(page)
        expect(page.locator(f"{TABLE} .jp-OnnxWorkbench-title")).to_contain_text(SCRIPT)  # the graph's name
        for node_id in (MATMUL, RELU):
            row = table_rows(page).filter(has=page.locator(f"td:text-is({json.dumps(node_id)})")).first
            expect(row.locator("td").first).to_have_text(node_id)
            assert_row_selects(viewer, row, node_id)
            expect(fact(viewer.part("details"), "name")).to_have_text(node_id)
        expect(title(viewer.node(RELU))).to_have_text(f"Relu\n{RELU}")
        expect(page.locator(FOREIGN_ELEMENTS)).to_have_count(0)
    network.assert_none()
    assert_clean(page, page_errors)
