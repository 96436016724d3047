"""Getting around the graph view: the details sidebar beside the canvas, the keyboard right
after a `.onnx` file opens, the zoom after expand and collapse, the wheel (pans; with ctrl or
⌘ it zooms; a setting swaps them), selection from Python bringing the node into view, and
edge labels that never run into each other."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
import pytest
from onnx import TensorProto, helper
from playwright.sync_api import expect

if TYPE_CHECKING:
    from tests.ui.conftest import LabPage, Notebook, Viewer

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
TRACED = "traced.onnx"  # a chain of Relus carrying torch stack traces with long lines
RESNET = "resnet50.onnx"  # 415 nodes in three split groups: big when expanded
SQUEEZENET = "squeezenet.onnx"  # flat, 107 boxes, many labelled edges meeting at Concats
TRACED_NODE = "relu_2"
# A stack trace as the dynamo exporter writes it, with one very long line.
STACK = "\n".join(
    [f'  File "/opt/conda/lib/python3.11/site-packages/torch/nn/modules/module.py", line {1700 + i}, '
     f"in _call_impl\n    return forward_call(*args, **kwargs)" for i in range(12)]
    + ["    x = torch.relu(" + " + ".join(f"self.branch_{i}(x)" for i in range(60)) + ")"]
)
# The zoom below which the view's text cannot be read (READABLE_ZOOM in panzoom.ts).
READABLE_ZOOM = 0.6

NOTEBOOK = "view_navigation.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)
# The widget gets a small payload, as a big model's is: the groups around the node selected
# from Python (the last node in a group left out, if any) are not in it, and load on demand.
CELLS = [
    "import workbench as wb\n"
    "import workbench.widgets._graph as graph_widget\n"
    "graph_widget.LAZY_PAYLOAD_BYTES = 20_000\n"
    f"m = wb.open({RESNET!r})\n"
    "sent = m.view_index.payload(budget=graph_widget.LAZY_PAYLOAD_BYTES)['groups']\n"
    "lazy = [n for n in m.nodes.index if set(m.view_index.ancestors(n)) - set(sent)]\n"
    "FAR_NODE = (lazy or list(m.nodes.index))[-1]\n"
    "v = m.view()\n"
    "v",
    "print(FAR_NODE)",
    "v.select(FAR_NODE)",
]
VIEW_CELL, PRINT_CELL, SELECT_CELL = range(len(CELLS))


def traced_model() -> onnx.ModelProto:
    """Six Relus in a row, each with a torch stack trace in its metadata."""
    nodes = []
    for i in range(6):
        node = helper.make_node("Relu", [f"x{i}"], [f"x{i + 1}"], name=f"relu_{i}")
        helper.set_metadata_props(node, {"pkg.torch.onnx.stack_trace": STACK})
        nodes.append(node)
    graph = helper.make_graph(
        nodes, "traced",
        [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 64, 55, 55])],
        [helper.make_tensor_value_info("x6", TensorProto.FLOAT, [1, 64, 55, 55])],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    """Writes the models the tests open."""
    onnx.save(traced_model(), module_lab_page.dir / TRACED)
    shutil.copy(LIGHT / "light_resnet50.onnx", module_lab_page.dir / RESNET)
    shutil.copy(LIGHT / "light_squeezenet.onnx", module_lab_page.dir / SQUEEZENET)


def zoom(viewer: Viewer) -> tuple[float, float, float]:
    """The view's transform (scale, x, y), read from its SVG viewport."""
    attr = viewer.root.locator("svg.jp-OnnxWorkbench-svg > g").get_attribute("transform") or ""
    match = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\) scale\(([-\d.]+)\)", attr)
    assert match, f"unexpected viewport transform {attr!r}"
    x, y, k = (float(v) for v in match.groups())
    return k, x, y


def wait_zoom(viewer: Viewer, at_least: float) -> None:
    """Waits (through an animation) until the view's scale is at least ``at_least``."""
    viewer.root.page.wait_for_function(
        """([host, k]) => {
          const attr = host.querySelector('svg.jp-OnnxWorkbench-svg > g').getAttribute('transform');
          return Number(/scale\\(([-\\d.]+)\\)/.exec(attr)[1]) >= k;
        }""",
        arg=[viewer.root.element_handle(), at_least],
        timeout=10_000,
    )


def on_canvas(viewer: Viewer, selector: str) -> bool:
    """Whether the element ``selector`` in the view lies wholly inside the visible canvas."""
    return viewer.root.evaluate(
        """(host, selector) => {
          const canvas = host.querySelector('.jp-OnnxWorkbench-canvas').getBoundingClientRect();
          const box = host.querySelector(selector).getBoundingClientRect();
          return box.left >= canvas.left && box.right <= canvas.right &&
            box.top >= canvas.top && box.bottom <= canvas.bottom;
        }""",
        selector,
    )


def open_file(lab_page: LabPage, name: str) -> Viewer:
    """Opens ``name`` from the file browser (double-click) and waits for its first drawing."""
    return lab_page.viewer_in(lab_page.open_in_file_browser(name))


def close_tabs(lab_page: LabPage) -> None:
    """Closes every main-area tab but notebooks, so the next test starts with a fresh view."""
    lab_page.page.evaluate(
        """() => {
          for (const w of [...window.jupyterapp.shell.widgets('main')]) {
            if (w.context && w.context.path.endsWith('.onnx')) w.dispose();
          }
        }"""
    )


def test_details_sidebar_leaves_the_canvas_its_room(lab_page: LabPage) -> None:
    """A node with a long torch stack trace opens a details sidebar that keeps its width: the
    canvas keeps at least 60% of the view, the trace scrolls inside its own block, and the
    sidebar's edge drags wider and narrower within bounds."""
    viewer = open_file(lab_page, TRACED)
    viewer.click(viewer.node(TRACED_NODE))
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", TRACED_NODE)
    stack = details.locator("pre.jp-OnnxWorkbench-stack")
    expect(stack).to_contain_text("self.branch_59(x)")
    width = viewer.root.bounding_box()["width"]
    canvas = viewer.part("canvas").bounding_box()["width"]
    panel = details.bounding_box()["width"]
    assert canvas >= 0.6 * width, f"canvas {canvas:.0f} px of a {width:.0f} px view (details {panel:.0f} px)"
    # The long line scrolls inside the trace's block, not the panel.
    assert stack.evaluate("el => el.scrollWidth > el.clientWidth + 100")
    content = details.locator(".jp-OnnxWorkbench-detailsContent")
    assert content.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    lab_page.screenshot("view-details-sidebar.png", viewer.root)

    # Dragging the sidebar's left edge resizes it, between a minimum and a maximum.
    handle = details.locator(".jp-OnnxWorkbench-detailsResize")
    mouse = lab_page.page.mouse

    def drag_to(x: float) -> float:
        box = handle.bounding_box()
        mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        mouse.down()
        mouse.move(x, box["y"] + box["height"] / 2, steps=5)
        mouse.up()
        return details.bounding_box()["width"]

    left = details.bounding_box()["x"]
    wider = drag_to(left - 150)
    assert abs(wider - (panel + 150)) < 6, f"dragged 150 px wider: {panel:.0f} -> {wider:.0f} px"
    widest = drag_to(viewer.root.bounding_box()["x"] + 5)
    assert widest < 0.85 * width, f"the sidebar must leave the canvas room: {widest:.0f} of {width:.0f} px"
    narrowest = drag_to(viewer.root.bounding_box()["x"] + width - 5)
    assert 120 <= narrowest <= 260, f"the sidebar has a minimum width: {narrowest:.0f} px"
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_keys_work_as_soon_as_a_file_opens(lab_page: LabPage) -> None:
    """Right after a `.onnx` file opens, and after its tab is clicked again, the view takes the
    keys: no click on the canvas first."""
    viewer = open_file(lab_page, TRACED)
    page = lab_page.page
    search = viewer.part("search")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")  # leaves the search box for the view
    lab_page.page.evaluate("async () => { await window.jupyterapp.commands.execute('launcher:create'); }")
    expect(viewer.root).to_be_hidden()  # the launcher covers the tab
    before = zoom(viewer)[0]
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=TRACED)
    tab.click()
    expect(viewer.root).to_be_visible()
    page.keyboard.press("-")
    assert zoom(viewer)[0] < before * 0.9, "the - key should zoom out right after the tab was clicked"
    lab_page.assert_no_errors()
    page.evaluate(
        """() => { for (const w of [...window.jupyterapp.shell.widgets('main')])
                   if (w.hasClass('jp-Launcher') || w.node.querySelector('.jp-Launcher')) w.dispose(); }"""
    )
    close_tabs(lab_page)


def test_collapse_and_expand_keep_the_drawing_readable(lab_page: LabPage) -> None:
    """Collapsing everything in a fitted view of a big model zooms to the small drawing left
    (not a dot in the middle of the canvas); expanding it again keeps a readable zoom."""
    viewer = open_file(lab_page, RESNET)
    while viewer.root.locator("g.jp-OnnxWorkbench-group:not(.jp-OnnxWorkbench-frame)").count():
        with viewer.relayout():
            viewer.press("e")  # everything expanded
    viewer.press("f")
    k_fitted = zoom(viewer)[0]
    assert k_fitted < READABLE_ZOOM / 3, f"fitted, the expanded ResNet should be small: zoom {k_fitted}"

    with viewer.relayout():
        viewer.press("c")
    expect(viewer.root.locator("g.jp-OnnxWorkbench-frame")).to_have_count(0)
    wait_zoom(viewer, READABLE_ZOOM)
    drawing = viewer.root.locator(".jp-OnnxWorkbench-drawing").bounding_box()
    canvas = viewer.part("canvas").bounding_box()
    assert on_canvas(viewer, ".jp-OnnxWorkbench-drawing"), "the collapsed drawing should be in view"
    assert max(drawing["width"] / canvas["width"], drawing["height"] / canvas["height"]) > 0.3
    lab_page.screenshot("view-collapsed.png", viewer.root)

    with viewer.relayout():
        viewer.press("e")
    expect(viewer.root.locator("g.jp-OnnxWorkbench-frame")).not_to_have_count(0)
    wait_zoom(viewer, READABLE_ZOOM)
    lab_page.screenshot("view-expanded-readable.png", viewer.root)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_wheel_pans_and_ctrl_wheel_zooms(lab_page: LabPage) -> None:
    """The wheel pans (both ways) at the same zoom; ctrl + wheel (a trackpad pinch) zooms
    about the pointer."""
    viewer = open_file(lab_page, RESNET)
    page = lab_page.page
    canvas = viewer.part("canvas").bounding_box()
    page.mouse.move(canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2)
    k0, x0, y0 = zoom(viewer)
    page.mouse.wheel(0, 200)
    page.wait_for_timeout(100)
    k1, x1, y1 = zoom(viewer)
    assert k1 == k0, f"the wheel must not zoom: {k0} -> {k1}"
    assert abs((y0 - y1) - 200) < 1 and x1 == x0, f"the wheel should pan up by 200: {y0} -> {y1}"
    page.mouse.wheel(-120, 0)
    page.wait_for_timeout(100)
    k2, x2, y2 = zoom(viewer)
    assert k2 == k0 and abs((x2 - x1) - 120) < 1 and y2 == y1, "a sideways wheel should pan sideways"

    page.keyboard.down("Control")
    try:
        page.mouse.wheel(0, -200)
    finally:
        page.keyboard.up("Control")
    page.wait_for_timeout(100)
    k3 = zoom(viewer)[0]
    assert k3 > k2 * 1.2, f"ctrl + wheel up should zoom in: {k2} -> {k3}"
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_wheel_setting_swaps_pan_and_zoom(lab_page: LabPage) -> None:
    """With the `wheel` setting at "zoom" (Settings → ONNX Workbench), the wheel zooms and
    ctrl + wheel pans."""
    server = lab_page.server
    page = lab_page.page
    url = server.url("lab/api/settings/onnx-workbench:settings")

    def put(raw: dict) -> None:
        response = page.request.put(url, data=json.dumps({"raw": json.dumps(raw)}),
                                    headers={"Content-Type": "application/json"})
        assert response.ok, f"PUT settings: {response.status} {response.text()}"

    put({"wheel": "zoom"})
    try:
        lab_page.goto()
        viewer = open_file(lab_page, RESNET)
        canvas = viewer.part("canvas").bounding_box()
        page.mouse.move(canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2)
        k0, _, y0 = zoom(viewer)
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(100)
        k1, _, y1 = zoom(viewer)
        assert k1 > k0 * 1.2, f"with the setting, the wheel zooms: {k0} -> {k1}"
        page.keyboard.down("Control")
        try:
            page.mouse.wheel(0, 150)
        finally:
            page.keyboard.up("Control")
        page.wait_for_timeout(100)
        k2, _, y2 = zoom(viewer)
        assert k2 == k1 and abs((y1 - y2) - 150) < 1, "with the setting, ctrl + wheel pans"
    finally:
        put({})
        close_tabs(lab_page)
        lab_page.goto()
    lab_page.assert_no_errors()


def test_select_from_python_pans_to_the_node(lab_page: LabPage, notebook: Notebook) -> None:
    """``v.select(id)`` on a node far down the drawing, in a group the view has not loaded yet,
    opens the groups around it and moves the view to it."""
    viewer = notebook.show(VIEW_CELL)
    notebook.run(PRINT_CELL)
    far_node = notebook.output(PRINT_CELL).inner_text().strip()
    selector = f"g.jp-OnnxWorkbench-item[data-kind='node'][data-node={json.dumps(far_node)}]"
    node = viewer.root.locator(selector)
    assert node.count() == 0 or not on_canvas(viewer, selector), "the node should start off screen"
    notebook.run(SELECT_CELL)
    expect(viewer.part("details")).to_have_attribute("data-node", far_node)
    expect(viewer.root.locator(selector)).to_have_class(viewer.state("selected"))
    notebook.page.wait_for_function(
        """([host, selector]) => {
          const canvas = host.querySelector('.jp-OnnxWorkbench-canvas').getBoundingClientRect();
          const box = host.querySelector(selector).getBoundingClientRect();
          return box.left >= canvas.left && box.right <= canvas.right &&
            box.top >= canvas.top && box.bottom <= canvas.bottom;
        }""",
        arg=[viewer.root.element_handle(), selector],
        timeout=10_000,
    )
    lab_page.screenshot("view-select-pans.png", viewer.root)
    lab_page.assert_no_errors()


def test_edge_labels_are_legible_and_never_overlap(lab_page: LabPage) -> None:
    """On SqueezeNet, whose Concats gather labelled edges, the labels drawn are at least 11 px,
    in a colour that stands out from the canvas, and none overlaps another label or a box;
    every labelled edge keeps its label as a tooltip."""
    viewer = open_file(lab_page, SQUEEZENET)
    while viewer.root.locator("g.jp-OnnxWorkbench-group:not(.jp-OnnxWorkbench-frame)").count():
        with viewer.relayout():
            viewer.press("e")  # everything expanded: every edge of the model drawn
    report = viewer.root.evaluate(
        """host => {
          const labels = [...host.querySelectorAll('text.jp-OnnxWorkbench-edgeLabel')]
            .filter(l => getComputedStyle(l).display !== 'none');
          const boxes = [...host.querySelectorAll(
            'g.jp-OnnxWorkbench-item:not(.jp-OnnxWorkbench-frame) > .jp-OnnxWorkbench-box')];
          const rect = el => el.getBoundingClientRect();
          const meets = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
            a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
          const overlaps = [];
          const lr = labels.map(rect);
          lr.forEach((a, i) => {
            lr.slice(i + 1).forEach((b, j) => {
              if (meets(a, b)) overlaps.push(`${labels[i].textContent} / ${labels[i + 1 + j].textContent}`);
            });
            boxes.forEach(box => {
              if (meets(a, rect(box))) overlaps.push(`${labels[i].textContent} on a box`);
            });
          });
          const edges = [...host.querySelectorAll('g.jp-OnnxWorkbench-edge')];
          return {
            count: labels.length,
            sizes: [...new Set(labels.map(l => parseFloat(getComputedStyle(l).fontSize)))],
            fill: labels.length ? getComputedStyle(labels[0]).fill : '',
            background: getComputedStyle(host.querySelector('.jp-OnnxWorkbench-canvas')).backgroundColor,
            overlaps,
            untitled: edges.filter(e => !e.querySelector(':scope > title')).length,
            edges: edges.length,
          };
        }"""
    )
    assert report["count"] >= 20, report
    assert min(report["sizes"]) >= 11, report
    assert not report["overlaps"], report["overlaps"]
    assert report["untitled"] == 0, report
    assert contrast(report["fill"], report["background"]) >= 4.5, report
    lab_page.screenshot("view-edge-labels.png", viewer.root)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two CSS ``rgb(...)``/``rgba(...)`` colours (the foreground's
    alpha blended over the background)."""

    def channels(color: str) -> list[float]:
        values = [float(v) for v in re.findall(r"[\d.]+", color)]
        return values + [1.0] * (4 - len(values))

    fr, fg, fb, fa = channels(foreground)
    br, bg, bb, _ = channels(background)
    blended = [fa * f + (1 - fa) * b for f, b in ((fr, br), (fg, bg), (fb, bb))]

    def luminance(rgb: list[float]) -> float:
        linear = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(blended), luminance([br, bg, bb])), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
