"""The graph view in a notebook output, used as a person would: drawing, details, search,
expand and collapse, subgraph bodies and the keyboard. Saves the docs' screenshots."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage, Notebook, Viewer

CELLS = [
    "import workbench as wb\nm = wb.samples.open('tiny_bert')\nm",
    "wb.samples.open('tiny_cnn')",
    "wb.samples.open('control_flow')",
]
BERT_CELL, CNN_CELL, CONTROL_FLOW_CELL = range(len(CELLS))
REPEAT_GROUP = "r:g:encoder/layer × 2"



def number(value: float) -> str:
    """A statistic as the details panel writes it (JavaScript's ``toPrecision(4)``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:#.4g}"

NOTEBOOK = "graph_view.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)


def test_notebook_draws_model(lab_page: LabPage, notebook: Notebook) -> None:
    """Displaying a Model draws its summary card and its graph: the input, and the scopes
    expanded at first paint."""
    viewer = notebook.show(BERT_CELL)
    expect(viewer.item("in:input_ids")).to_have_count(1)
    expect(viewer.item("in:input_ids")).to_contain_text("input_ids")
    expect(viewer.group("g:embeddings")).to_have_class(viewer.state("frame"))
    expect(viewer.group("g:encoder")).to_have_class(viewer.state("frame"))
    expect(viewer.node("node_Gather_1")).to_have_count(1)
    expect(viewer.root.locator("g.jp-OnnxWorkbench-edge").first).to_be_attached()
    output = notebook.output(BERT_CELL)
    card = output.locator(".jp-OnnxWorkbench-summary")
    expect(card).to_be_visible()
    expect(card.locator(".jp-OnnxWorkbench-title")).to_have_text("tiny_bert")
    assert float(viewer.root.get_attribute("data-first-paint-ms") or "nan") > 0
    lab_page.screenshot("graph-notebook.png", notebook.cells.nth(BERT_CELL))
    lab_page.assert_no_errors()


def test_click_node_shows_details(lab_page: LabPage, notebook: Notebook) -> None:
    """Clicking a Conv opens the details panel with its op, attributes, inputs and the
    statistics of its weight, as the Python side computes them."""
    node_id = "/stem/conv/Conv_1"
    expected = wb.samples.open("tiny_cnn").view_index.details(node_id)
    viewer = notebook.show(CNN_CELL)
    details = viewer.part("details")
    expect(details).to_be_hidden()

    viewer.node(node_id).click()
    expect(details).to_be_visible()
    expect(details).to_have_attribute("data-node", node_id)
    expect(viewer.node(node_id)).to_have_class(viewer.state("selected"))
    expect(details.locator(".jp-OnnxWorkbench-detailsOp")).to_contain_text(expected["op"])
    attributes = details.locator(".jp-OnnxWorkbench-detailsAttributes tr")
    expect(attributes).to_have_count(len(expected["attributes"]))
    for row, (key, value) in zip(attributes.all(), expected["attributes"], strict=True):
        expect(row.locator("th")).to_have_text(key)
        expect(row.locator("td")).to_have_text(value)
    values = details.locator(".jp-OnnxWorkbench-detailsValue")
    expect(values).to_have_count(len(expected["inputs"]) + len(expected["outputs"]))
    for entry, spec in zip(values.all(), expected["inputs"], strict=False):
        expect(entry.locator(".jp-OnnxWorkbench-name")).to_contain_text(spec["name"])
        value_type = f"{spec['dtype']} ⟨{spec['shape']}⟩"
        expect(entry.locator(".jp-OnnxWorkbench-type")).to_have_text(value_type)
        stats = spec.get("stats")
        if stats:
            expect(entry.locator(".jp-OnnxWorkbench-stats")).to_have_text(
                " · ".join(f"{key} {number(stats[key])}" for key in ("min", "max", "mean", "std"))
            )
        else:
            expect(entry.locator(".jp-OnnxWorkbench-stats")).to_have_count(0)
    assert any(spec.get("stats") for spec in expected["inputs"]), "the Conv should have a weight"
    lab_page.screenshot("graph-details.png", viewer.root)

    details.locator(".jp-OnnxWorkbench-close").click()
    expect(details).to_be_hidden()
    lab_page.assert_no_errors()


def test_search_steps_through_hits_in_folded_groups(lab_page: LabPage, notebook: Notebook) -> None:
    """Softmax lives in the folded `layer × 2` repeat: typing counts the hits, Enter goes to
    each in turn, unfolding the groups around it."""
    softmax = wb.samples.open("tiny_bert").nodes.query("op_type == 'Softmax'").index.tolist()
    viewer = notebook.show(BERT_CELL)
    counter = viewer.part("counter")
    search = viewer.part("search")
    for node_id in softmax:
        expect(viewer.node(node_id)).to_have_count(0)

    viewer.search("Softmax")
    expect(counter).to_have_text(f"{len(softmax)} hits")
    with viewer.relayout():
        search.press("Enter")
    expect(counter).to_have_text(f"1 / {len(softmax)}")
    first = viewer.node(softmax[0])
    expect(first).to_have_class(viewer.state("currentHit"))
    lab_page.screenshot("graph-search.png", viewer.root)

    search.press("Enter")
    expect(counter).to_have_text(f"2 / {len(softmax)}")
    expect(viewer.node(softmax[1])).to_have_class(viewer.state("currentHit"))
    expect(first).to_have_class(viewer.state("hit"))
    expect(first).not_to_have_class(viewer.state("currentHit"))

    search.press("Shift+Enter")
    expect(counter).to_have_text(f"1 / {len(softmax)}")
    expect(first).to_have_class(viewer.state("currentHit"))
    lab_page.assert_no_errors()


def test_expand_and_collapse_group(lab_page: LabPage, notebook: Notebook) -> None:
    """Clicking a folded group draws its items inside a frame; clicking the frame's header
    folds it again."""
    viewer = notebook.show(BERT_CELL)
    repeat = viewer.group(REPEAT_GROUP)
    expect(repeat).not_to_have_class(viewer.state("frame"))
    expect(viewer.group("g:encoder/layer.0")).to_have_count(0)
    drawn_before = viewer.items.count()

    with viewer.relayout():
        viewer.click(repeat)
    expect(repeat).to_have_class(viewer.state("frame"))
    expect(viewer.group("g:encoder/layer.0")).to_have_count(1)
    expect(viewer.group("g:encoder/layer.1")).to_have_count(1)
    assert viewer.items.count() == drawn_before + 2

    with viewer.relayout():
        viewer.click(viewer.group("g:encoder/layer.0"))
    expect(viewer.group("g:encoder/layer.0/attention")).to_have_count(1)
    expect(viewer.group("g:encoder/layer.0")).to_have_class(viewer.state("frame"))
    # Double-clicking a group (here, a frame's header) centres the view on it.
    viewer.double_click(viewer.frame_header("g:encoder/layer.0"))
    lab_page.screenshot("graph-expanded.png", viewer.root)

    with viewer.relayout():
        viewer.click(viewer.frame_header(REPEAT_GROUP))
    expect(repeat).not_to_have_class(viewer.state("frame"))
    expect(viewer.group("g:encoder/layer.0")).to_have_count(0)
    expect(viewer.group("g:encoder/layer.0/attention")).to_have_count(0)
    assert viewer.items.count() == drawn_before
    lab_page.assert_no_errors()


def test_double_click_enters_subgraph(lab_page: LabPage, notebook: Notebook) -> None:
    """Double-clicking an If node shows its body with a breadcrumb; the first crumb goes back."""
    viewer = notebook.show(CONTROL_FLOW_CELL)
    crumbs = viewer.root.locator("button.jp-OnnxWorkbench-crumb")
    expect(crumbs).to_have_count(1)
    if_node = viewer.node("branch")
    expect(if_node.locator(".jp-OnnxWorkbench-graphsMarker")).to_have_count(1)

    with viewer.relayout():
        viewer.double_click(if_node)
    expect(crumbs).to_have_count(2)
    expect(crumbs.last).to_have_attribute("data-group", "sg:branch/else_branch:")
    expect(crumbs.last).to_be_disabled()
    expect(viewer.node("else_neg")).to_have_count(1)
    expect(viewer.item("out:else_out")).to_have_count(1)
    expect(viewer.node("branch")).to_have_count(0)

    with viewer.relayout():
        crumbs.first.click()
    expect(crumbs).to_have_count(1)
    expect(viewer.node("branch")).to_have_count(1)
    expect(viewer.node("else_neg")).to_have_count(0)
    lab_page.assert_no_errors()


def test_keyboard_commands_stay_in_the_view(lab_page: LabPage, notebook: Notebook) -> None:
    """With the view focused, c collapses, e expands a level and f fits the drawing; none of
    the keys (nor the notebook's own a, b, v) reach the notebook."""
    viewer = notebook.show(BERT_CELL)
    cells = notebook.cells.count()
    frames = viewer.root.locator("g.jp-OnnxWorkbench-frame")
    expect(frames).not_to_have_count(0)

    with viewer.relayout():
        viewer.press("c")
    expect(frames).to_have_count(0)
    expect(viewer.group("g:encoder")).to_have_count(1)

    with viewer.relayout():
        viewer.press("e")
    expect(viewer.group("g:encoder")).to_have_class(viewer.state("frame"))
    expect(viewer.group("g:embeddings")).to_have_class(viewer.state("frame"))

    viewer.press("+", "+", "+")
    assert not drawing_fits(viewer), "zoomed in, the drawing should overflow the canvas"
    viewer.press("f")
    assert drawing_fits(viewer), "after f the drawing should fit the canvas"

    viewer.press("a", "b", "c", "v")
    expect(notebook.cells).to_have_count(cells)
    lab_page.assert_no_errors()


def drawing_fits(viewer: Viewer) -> bool:
    """Whether the whole drawing lies inside the view's canvas."""
    return viewer.root.evaluate(
        """host => {
          const canvas = host.querySelector('.jp-OnnxWorkbench-canvas').getBoundingClientRect();
          const drawing = host.querySelector('.jp-OnnxWorkbench-drawing').getBoundingClientRect();
          return drawing.left >= canvas.left - 1 && drawing.right <= canvas.right + 1 &&
            drawing.top >= canvas.top - 1 && drawing.bottom <= canvas.bottom + 1;
        }"""
    )


def _luminance(page_color: str) -> float:
    """Relative brightness (0–1) of a CSS ``rgb(...)``/``rgba(...)`` colour."""
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", page_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_follows_the_dark_theme(lab_page: LabPage, notebook: Notebook) -> None:
    """Switching JupyterLab to its dark theme turns the view dark, with light text."""
    viewer = notebook.show(BERT_CELL)
    canvas = viewer.root.locator(".jp-OnnxWorkbench-canvas")
    background = "el => getComputedStyle(el).backgroundColor"
    group_label = viewer.group("g:encoder").locator("text").first
    assert _luminance(canvas.evaluate(background)) > 0.7

    def set_theme(name: str, light: str) -> None:
        lab_page.page.evaluate("name => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})",
                               name)
        expect(lab_page.page.locator("body")).to_have_attribute("data-jp-theme-light", light, timeout=20_000)

    set_theme("JupyterLab Dark", "false")
    try:
        lab_page.page.wait_for_function(  # the theme's stylesheet applies after the attribute
            """el => {
              const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\\d+/g).map(Number);
              return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.3;
            }""", arg=canvas.element_handle(), timeout=20_000)
        assert _luminance(group_label.evaluate("el => getComputedStyle(el).fill")) > 0.6
        lab_page.screenshot("graph-dark.png", notebook.cells.nth(BERT_CELL))
    finally:
        set_theme("JupyterLab Light", "true")
    lab_page.assert_no_errors()
